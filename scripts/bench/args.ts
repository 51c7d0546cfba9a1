// Command-line flags of `npm run bench -- ...`.
import { randomBytes } from 'node:crypto';

export type Scenario = 'a' | 'b' | 'c' | 'd';

export interface BenchArgs {
  runId: string;
  scenarios: Scenario[];
  durationSec: number;
  settleDurationSec: number;
  rates: number[];
  settleRate: number;
  payConcurrency: number;
  ledgerRate: number;
  ledgerMode: 'broker' | 'inprocess';
  ledgerConcurrency: number;
  connections: number;
  drainTimeoutSec: number;
  build: boolean;
  keep: boolean;
  profile: boolean;
  logLevel: string;
  serviceEnv: Record<string, string>;
}

export const USAGE = `npm run bench -- [options]

  --scenario a,b,c,d     which scenarios (default all; also: checkout, settlement, ledger, gateway)
                         a: createCheckout at fixed rates   b: full settlement
                         c: ledger alone                    d: gateway vs. direct subgraph
  --duration N           seconds per phase of a, c, d (default 20) and of b unless --settle-duration
  --settle-duration N    seconds of load in b (default 60)
  --rates 50,100,200,max createCheckout rates of a (max = as fast as it goes)
  --settle-rate N        checkouts/s offered in b (default 220)
  --pay-concurrency N    concurrent buyers submitting the hosted page in b (default 48)
  --ledger-rate N        payment.succeeded events/s published in c (default 1500)
  --ledger-mode M        broker (default: isolated ledger process fed through RabbitMQ) | inprocess
  --ledger-concurrency N workers of --ledger-mode inprocess (default 8)
  --connections N        connections of the "max" phases (default 32)
  --drain-timeout N      seconds to wait for postings after the load (default 120)
  --env KEY=VALUE        extra environment for every service (repeatable), e.g. DB_POOL_MAX=20
  --profile              run every service with node --cpu-prof and summarize the profiles
  --log-level L          services' LOG_LEVEL (default info)
  --no-build             skip npx turbo run build
  --keep                 keep the bench databases and queues

  BENCH_GATEWAY_URL=http://host:4000/graphql uses a running platform instead of starting one
  (with BENCH_PAYMENTS_URL, BENCH_PSP_URL, CLEARHOUSE_PLATFORM_KEY, CLEARHOUSE_OPS_KEY,
  INTERNAL_SIGNING_SECRET as that platform has them).`;

const ALIASES: Record<string, Scenario> = { a: 'a', checkout: 'a', b: 'b', settlement: 'b', settle: 'b', c: 'c', ledger: 'c', d: 'd', gateway: 'd' };
const ORDER: Scenario[] = ['a', 'd', 'b', 'c'];

function positive(name: string, text: string | undefined, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return value;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = {
    runId: randomBytes(3).toString('hex'),
    scenarios: [...ORDER],
    durationSec: 20,
    settleDurationSec: 60,
    rates: [50, 100, 200, 0],
    settleRate: 220,
    payConcurrency: 48,
    ledgerRate: 1500,
    ledgerMode: 'broker',
    ledgerConcurrency: 8,
    connections: 32,
    drainTimeoutSec: 120,
    build: true,
    keep: false,
    profile: false,
    logLevel: 'info',
    serviceEnv: {},
  };
  let settleDurationGiven = false;
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index] ?? '';
    const [name, inline] = flag.includes('=') && flag.startsWith('--') && !flag.startsWith('--env=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = () => inline ?? argv[++index];
    switch (name) {
      case '--scenario':
      case '--scenarios': {
        const wanted = new Set((value() ?? '').split(',').map((s) => ALIASES[s.trim().toLowerCase()]));
        if (wanted.has(undefined as unknown as Scenario) || wanted.size === 0) throw new Error('--scenario takes a comma-separated subset of a,b,c,d');
        args.scenarios = ORDER.filter((s) => wanted.has(s));
        break;
      }
      case '--duration':
        args.durationSec = positive('--duration', value(), 3600);
        if (!settleDurationGiven) args.settleDurationSec = args.durationSec;
        break;
      case '--settle-duration':
        args.settleDurationSec = positive('--settle-duration', value(), 3600);
        settleDurationGiven = true;
        break;
      case '--rates':
        args.rates = (value() ?? '').split(',').map((r) => (r.trim() === 'max' ? 0 : positive('--rates', r.trim(), 100_000)));
        break;
      case '--settle-rate':
        args.settleRate = positive('--settle-rate', value(), 100_000);
        break;
      case '--pay-concurrency':
        args.payConcurrency = positive('--pay-concurrency', value(), 1000);
        break;
      case '--ledger-rate':
        args.ledgerRate = positive('--ledger-rate', value(), 100_000);
        break;
      case '--ledger-mode': {
        const mode = value();
        if (mode !== 'broker' && mode !== 'inprocess') throw new Error('--ledger-mode is broker or inprocess');
        args.ledgerMode = mode;
        break;
      }
      case '--ledger-concurrency':
        args.ledgerConcurrency = positive('--ledger-concurrency', value(), 256);
        break;
      case '--connections':
        args.connections = positive('--connections', value(), 1000);
        break;
      case '--drain-timeout':
        args.drainTimeoutSec = positive('--drain-timeout', value(), 3600);
        break;
      case '--env': {
        const pair = value() ?? '';
        const eq = pair.indexOf('=');
        if (eq < 1) throw new Error('--env takes KEY=VALUE');
        args.serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      case '--profile':
        args.profile = true;
        break;
      case '--log-level':
        args.logLevel = value() ?? 'info';
        break;
      case '--no-build':
        args.build = false;
        break;
      case '--keep':
        args.keep = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        if (flag.startsWith('--env=')) {
          const pair = flag.slice('--env='.length);
          const eq = pair.indexOf('=');
          if (eq < 1) throw new Error('--env takes KEY=VALUE');
          args.serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
          break;
        }
        throw new Error(`unknown option ${flag}\n\n${USAGE}`);
    }
  }
  return args;
}
