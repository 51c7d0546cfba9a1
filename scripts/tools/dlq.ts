// npm run dlq -- list [--queue <name>] [--limit <n>]
//                 show <messageId> [--queue <name>]
//                 replay <messageId|--all> [--queue <name>]
// Operators' view of the dead-letter queues under BROKER_PREFIX (default clearhouse) on
// AMQP_URL. --queue takes a consumer name (`wallet-projector`), its queue
// (`clearhouse.wallet-projector`) or its DLQ (`clearhouse.wallet-projector.dlq`). Without
// --queue, the DLQs are found through the management API (RABBITMQ_MANAGEMENT_URL), else
// `rabbitmqctl list_queues` on this machine. Peeking never removes a message.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection } from 'rabbitmq-client';
import {
  DEAD_LETTER_SUFFIX, DEFAULT_BROKER_PREFIX, assertBrokerPrefix, listDeadLetters, listQueueNames, queueDepth, replayDeadLetters,
  showDeadLetter, type DeadLetter,
} from '../../shared/src/messaging/index';

const USAGE = `usage:
  npm run dlq -- list [--queue <name>] [--limit <n>]
  npm run dlq -- show <messageId> [--queue <name>]
  npm run dlq -- replay <messageId|--all> [--queue <name>]
env: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), BROKER_PREFIX (default clearhouse),
     RABBITMQ_MANAGEMENT_URL (default http://guest:guest@127.0.0.1:15672)`;
const LIST_LIMIT_DEFAULT = 20;
const ERROR_COLUMN_WIDTH = 70;
const DISCOVERY_TIMEOUT_MS = 10_000;

class UsageError extends Error {}

interface Args {
  command: string;
  target: string | undefined;
  all: boolean;
  queue: string | undefined;
  limit: number;
}

const COMMANDS = ['list', 'show', 'replay'] as const;

/**
 * Parses and checks everything before the broker is contacted: an option without its value
 * (`--queue` at the end, or followed by another option) is refused rather than read as "no
 * queue", which would widen a replay to every dead-letter queue.
 */
function parseArgs(argv: readonly string[]): Args {
  const [command, ...rest] = argv;
  const args: Args = { command: command ?? '', target: undefined, all: false, queue: undefined, limit: LIST_LIMIT_DEFAULT };
  if (!args.command) throw new UsageError('missing command');
  if (!(COMMANDS as readonly string[]).includes(args.command)) throw new UsageError(`unknown command ${args.command}`);
  const valueOf = (option: string, index: number, what: string): string => {
    const value = rest[index];
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${option} needs ${what}`);
    return value;
  };
  let limitGiven = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--all') args.all = true;
    else if (arg === '--queue') args.queue = valueOf(arg, ++i, 'a name');
    else if (arg === '--limit') {
      args.limit = Number(valueOf(arg, ++i, 'a positive integer'));
      limitGiven = true;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (args.target === undefined) args.target = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (!Number.isInteger(args.limit) || args.limit < 1) throw new UsageError('--limit must be a positive integer');
  if (limitGiven && args.command !== 'list') throw new UsageError(`--limit goes with list, not ${args.command}`);
  if (args.command === 'list') {
    if (args.all) throw new UsageError('list takes no --all (it lists every dead letter up to --limit)');
    if (args.target !== undefined) throw new UsageError(`unexpected argument ${args.target}`);
  }
  if (args.command === 'show') {
    if (args.all) throw new UsageError('show takes one message id, not --all');
    if (args.target === undefined) throw new UsageError('show needs a message id');
  }
  if (args.command === 'replay' && args.all === (args.target !== undefined)) throw new UsageError('replay needs a message id or --all');
  return args;
}

function deadLetterQueueOf(prefix: string, name: string): string {
  if (name.endsWith(DEAD_LETTER_SUFFIX)) return name;
  if (name.startsWith(`${prefix}.`)) return `${name}${DEAD_LETTER_SUFFIX}`;
  return `${prefix}.${name}${DEAD_LETTER_SUFFIX}`;
}

async function discoverDeadLetterQueues(prefix: string): Promise<string[]> {
  const isDlq = (name: string) => name.startsWith(`${prefix}.`) && name.endsWith(DEAD_LETTER_SUFFIX);
  try {
    const managementUrl = process.env.RABBITMQ_MANAGEMENT_URL || 'http://guest:guest@127.0.0.1:15672';
    return (await listQueueNames({ managementUrl, prefix })).filter(isDlq);
  } catch {
    // Management plugin not enabled: ask rabbitmqctl, when the broker runs on this machine.
  }
  try {
    const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', 'list_queues', '--no-table-headers', 'name'], { timeout: DISCOVERY_TIMEOUT_MS });
    return stdout.split('\n').map((line) => line.trim()).filter(isDlq).sort();
  } catch {
    throw new UsageError('cannot list queues (management API and rabbitmqctl unavailable); pass --queue <consumer>');
  }
}

function oneLine(text: string | undefined, width: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

function printSummary(letters: readonly DeadLetter[]): void {
  for (const letter of letters) {
    console.log(
      `  ${letter.messageId ?? '(no id)'}  ${letter.routingKey}  attempts=${letter.attempts ?? '?'}  failed=${letter.failedAt ?? '?'}\n` +
        `      ${oneLine(letter.error, ERROR_COLUMN_WIDTH)}`,
    );
  }
}

function printDetail(letter: DeadLetter): void {
  console.log(`message     ${letter.messageId ?? '(no id)'}`);
  console.log(`dlq         ${letter.deadLetterQueue}`);
  console.log(`queue       ${letter.queue}`);
  console.log(`routing key ${letter.routingKey}`);
  console.log(`type        ${letter.type ?? '-'}`);
  console.log(`correlation ${letter.correlationId ?? '-'}`);
  console.log(`attempts    ${letter.attempts ?? '?'}`);
  console.log(`failed at   ${letter.failedAt ?? '?'}`);
  console.log(`error       ${letter.error ?? '-'}`);
  console.log('history');
  for (const entry of letter.history) console.log(`  #${entry.attempt} ${entry.at} ${oneLine(entry.error, 200)}`);
  console.log('body');
  console.log(typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body, null, 2));
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const prefix = process.env.BROKER_PREFIX || DEFAULT_BROKER_PREFIX;
  assertBrokerPrefix(prefix);
  const connection = new Connection({ url: process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672', connectionName: `${prefix}-dlq-cli`, retryHigh: 1000 });
  connection.on('error', () => undefined);
  try {
    await connection.onConnect(DISCOVERY_TIMEOUT_MS);
    const queues = args.queue ? [deadLetterQueueOf(prefix, args.queue)] : await discoverDeadLetterQueues(prefix);
    switch (args.command) {
      case 'list': {
        if (queues.length === 0) console.log(`no dead-letter queues under '${prefix}'`);
        for (const deadLetterQueue of queues) {
          const depth = await queueDepth(connection, deadLetterQueue);
          console.log(`${deadLetterQueue}: ${depth} message${depth === 1 ? '' : 's'}`);
          if (depth > 0) printSummary(await listDeadLetters({ connection, deadLetterQueue, limit: args.limit }));
          if (depth > args.limit) console.log(`  … ${depth - args.limit} more (--limit)`);
        }
        return 0;
      }
      case 'show': {
        const letter = await showDeadLetter({ connection, deadLetterQueues: queues, messageId: args.target! });
        if (!letter) {
          console.error(`no dead letter ${args.target} in ${queues.join(', ') || '(no queues)'}`);
          return 1;
        }
        printDetail(letter);
        return 0;
      }
      case 'replay': {
        let total = 0;
        for (const deadLetterQueue of queues) {
          const result = await replayDeadLetters({ connection, deadLetterQueue, messageIds: args.all ? 'all' : [args.target!] });
          for (const { messageId, queue } of result.replayed) console.log(`replayed ${messageId ?? '(no id)'} -> ${queue}`);
          total += result.replayed.length;
          if (!args.all && total > 0) break;
        }
        console.log(`${total} message${total === 1 ? '' : 's'} replayed`);
        if (!args.all && total === 0) {
          console.error(`no dead letter ${args.target} in ${queues.join(', ') || '(no queues)'}`);
          return 1;
        }
        return 0;
      }
      default:
        throw new UsageError(args.command ? `unknown command ${args.command}` : 'missing command');
    }
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
    else console.error(`dlq: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
