// npm run bench: brings up the platform (or uses BENCH_GATEWAY_URL), drives load through the
// gateway with autocannon, prints the results table and audits the books. See BENCHMARKS.md and
// `npm run bench -- --help`.
import { ensureInfrastructure } from './lib/infrastructure';
import { parseArgs } from './bench/args';
import { build } from './bench/platform';

async function run(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
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
