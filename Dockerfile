# The whole platform in one container (gateway, subgraphs, consumers, PSP simulator).
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci && npx turbo run build
EXPOSE 4000 4010
CMD ["npm", "start"]
