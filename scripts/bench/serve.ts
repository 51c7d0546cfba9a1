// Development aid: starts a bench platform (as `npm run bench` does) and keeps it up until
// SIGINT/SIGTERM or --minutes elapse, printing its URLs and keys, for profiling by hand:
//   node --import tsx scripts/bench/serve.ts --minutes 20 [--env KEY=VALUE ...]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from './args';
import { openTarget } from './platform';
import { say } from './progress';

async function serve(): Promise<void> {
  const argv = process.argv.slice(2);
  const minutesIndex = argv.indexOf('--minutes');
  const minutes = minutesIndex >= 0 ? Number(argv.splice(minutesIndex, 2)[1]) : 20;
  const args = parseArgs(argv);
  const runDir = join(__dirname, '.runs', `serve-${args.runId}`);
  mkdirSync(runDir, { recursive: true });
  const target = await openTarget({ runId: args.runId, runDir, build: false, keep: args.keep, logLevel: args.logLevel, serviceEnv: args.serviceEnv });
  const info = { gatewayUrl: target.gatewayUrl, paymentsUrl: target.paymentsUrl, pspUrl: target.pspUrl, platformKey: target.platformKey, opsKey: target.opsKey, signingSecret: target.signingSecret, env: target.env };
  writeFileSync(join(runDir, 'target.json'), JSON.stringify(info, null, 2));
  say(`up: ${target.gatewayUrl} (details in ${join(runDir, 'target.json')}); stopping in ${minutes} min`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await target.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  setTimeout(() => void stop(), minutes * 60_000);
}

void serve();
