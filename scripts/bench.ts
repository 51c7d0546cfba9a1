// npm run bench: brings up the platform (or uses BENCH_GATEWAY_URL), drives load through the
// gateway with autocannon, prints the results table and audits the books. See BENCHMARKS.md and
// `npm run bench -- --help`.
import { existsSync } from 'node:fs';
import { ensureInfrastructure } from './lib/infrastructure';
import { parseArgs } from './bench/args';
import { build } from './bench/platform';

/** PostgreSQL's Unix socket on Debian; a co-located server is cheaper to talk to through it than over TCP. */
const LOCAL_POSTGRES_SOCKET_DIR = '/var/run/postgresql';

async function run(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  // Everything runs on this machine: unless POSTGRES_URL says otherwise, talk to PostgreSQL over
  // its Unix socket when it has one (BENCHMARKS.md: ~1–2 ms of CPU less per checkout than TCP).
  if (!process.env.POSTGRES_URL && existsSync(`${LOCAL_POSTGRES_SOCKET_DIR}/.s.PGSQL.5432`)) {
    process.env.POSTGRES_URL = `postgresql://postgres@localhost?host=${LOCAL_POSTGRES_SOCKET_DIR}`;
    process.stderr.write(`[bench] PostgreSQL over its Unix socket (${LOCAL_POSTGRES_SOCKET_DIR}); set POSTGRES_URL to use another server or TCP\n`);
  }
  if (!process.env.BENCH_GATEWAY_URL || args.scenarios.includes('c')) {
    const problem = await ensureInfrastructure(process.env, (line) => process.stderr.write(`[bench] ${line}\n`), false);
    if (problem) {
      process.stderr.write(`${problem}\n`);
      return 1;
    }
  }
  if (args.build) build();
  // Loaded after the build: the harness uses the compiled shared library.
  const { main } = await import('./bench/main.js');
  return main(args);
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
