# The whole platform in one container (gateway, subgraphs, consumers, PSP simulator).
# Node.js 24 (LTS): Node 20 reached its end of life on 2026-04-30, and 24 runs the services' own
# code with about a quarter less CPU (BENCHMARKS.md, ninth session's changes).
FROM node:24-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci && npx turbo run build
EXPOSE 4000 4010
CMD ["npm", "start"]
