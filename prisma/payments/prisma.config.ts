// Prisma CLI configuration for the payments database, for machines where Prisma's native schema
// engine is available (Prisma 7 reads the datasource URL from here, not from schema.prisma):
//   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/clearhouse_payments \
//     npx prisma migrate deploy --config prisma/payments/prisma.config.ts
// Offline, `npm run db:prepare` applies the same migrations through the WebAssembly engine.
import { defineConfig, env } from 'prisma/config';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: env('DATABASE_URL') },
});
