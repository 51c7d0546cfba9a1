// Throw-away broker namespaces for tests. Each createTestBroker() call gets a unique prefix
// (`t<hex>`), so its exchange and queues (`t<hex>.events`, `t<hex>.<consumer>`, ...) never meet
// another test file's messages nor a running dev instance's `clearhouse.*` names. Its
// connections carry the prefix in their connection name, so a test can close exactly its own
// connections on the broker (closeConnections) without disturbing anyone else's.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Connection } from 'rabbitmq-client';
import { listQueueNames } from '../messaging/management.js';

const execFileAsync = promisify(execFile);

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_MANAGEMENT_URL = 'http://guest:guest@127.0.0.1:15672';
const RABBITMQCTL_TIMEOUT_MS = 30_000;
const CONNECTION_TIMEOUT_MS = 10_000;
const CONNECTIONS_PER_BROKER_MAX = 20;

export interface TestBroker {
  /** Unique per call; pass it wherever a broker prefix is expected. */
  prefix: string;
  amqpUrl: string;
  /** The first connection (named `${prefix}-main`). */
  connection: Connection;
  /** Another connection, named `${prefix}-${label}`; closed by cleanup(). */
  connect(label: string): Promise<Connection>;
  /**
   * Has the broker close this test broker's connections (all, or those whose label is
   * given), as `rabbitmqctl close_connection` would in an outage. rabbitmq-client reconnects.
   * Returns how many were closed.
   */
  closeConnections(labels?: readonly string[]): Promise<number>;
  /** Deletes every queue and exchange named `${prefix}.*` and closes the connections. */
  cleanup(): Promise<void>;
}

async function open(amqpUrl: string, connectionName: string): Promise<Connection> {
  const connection = new Connection({ url: amqpUrl, connectionName });
  // An unhandled 'error' event would crash the test process; reconnects are expected here.
  connection.on('error', () => undefined);
  await connection.onConnect(CONNECTION_TIMEOUT_MS);
  return connection;
}

async function rabbitmqctl(args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync('rabbitmqctl', ['-q', ...args], { timeout: RABBITMQCTL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Names of `${prefix}.*` objects: the management API if enabled, else rabbitmqctl. */
async function namesWithPrefix(kind: 'queues' | 'exchanges', prefix: string): Promise<string[]> {
  if (kind === 'queues') {
    try {
      return await listQueueNames({ managementUrl: process.env.RABBITMQ_MANAGEMENT_URL ?? DEFAULT_MANAGEMENT_URL, prefix, timeoutMs: 2000 });
    } catch {
      // Management plugin not enabled: fall through to rabbitmqctl.
    }
  }
  const out = await rabbitmqctl(kind === 'queues' ? ['list_queues', '--no-table-headers', 'name'] : ['list_exchanges', '--no-table-headers', 'name']);
  return out.split('\n').map((line) => line.trim()).filter((name) => name.startsWith(`${prefix}.`));
}

export async function createTestBroker(options: { amqpUrl?: string } = {}): Promise<TestBroker> {
  const amqpUrl = options.amqpUrl ?? process.env.AMQP_URL ?? DEFAULT_AMQP_URL;
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const connections = new Map<string, Connection>();

  async function connect(label: string): Promise<Connection> {
    if (connections.has(label)) throw new Error(`test broker connection '${label}' already exists`);
    if (connections.size >= CONNECTIONS_PER_BROKER_MAX) throw new Error(`at most ${CONNECTIONS_PER_BROKER_MAX} connections per test broker`);
    const connection = await open(amqpUrl, `${prefix}-${label}`);
    connections.set(label, connection);
    return connection;
  }

  const connection = await connect('main');

  return {
    prefix,
    amqpUrl,
    connection,
    connect,
    async closeConnections(labels) {
      const wanted = new Set((labels ?? [...connections.keys()]).map((label) => `${prefix}-${label}`));
      const out = await rabbitmqctl(['list_connections', '--no-table-headers', 'pid', 'client_properties']);
      // Each line: `<pid>\t[{"product","rabbitmq-client"},...,{"connection_name","t…-label"}]`
      // (older rabbitmqctl prints <<"…">> binaries and a longstr type tag; both are accepted).
      let closed = 0;
      for (const line of out.split('\n')) {
        const match = /^(<[^>]+>)\s.*\{"connection_name",(?:longstr,)?"([^"]+)"\}/.exec(line.replace(/<<"([^"]*)">>/g, '"$1"'));
        if (!match?.[1] || !match[2] || !wanted.has(match[2])) continue;
        await rabbitmqctl(['close_connection', match[1], 'test: simulated broker outage']);
        closed++;
      }
      return closed;
    },
    async cleanup() {
      const queues = await namesWithPrefix('queues', prefix);
      const exchanges = await namesWithPrefix('exchanges', prefix);
      for (const queue of queues) await connection.queueDelete({ queue });
      for (const exchange of exchanges) await connection.exchangeDelete({ exchange });
      for (const open of connections.values()) await open.close();
      connections.clear();
    },
  };
}

/**
 * Deletes every queue and exchange named `${prefix}.*` (a finished test or benchmark run's
 * topology). Quorum queues are Raft groups: left behind by hundreds, they slow the broker down.
 */
export async function deleteBrokerObjects(prefix: string, amqpUrl: string = process.env.AMQP_URL ?? DEFAULT_AMQP_URL): Promise<{ queues: number; exchanges: number }> {
  if (!/^[a-z][a-z0-9_-]{2,40}$/.test(prefix) || prefix === 'clearhouse') throw new Error(`refusing to delete broker objects of prefix '${prefix}'`);
  const connection = await open(amqpUrl, `${prefix}-cleanup`);
  try {
    const queues = await namesWithPrefix('queues', prefix);
    const exchanges = await namesWithPrefix('exchanges', prefix);
    for (const queue of queues) await connection.queueDelete({ queue });
    for (const exchange of exchanges) await connection.exchangeDelete({ exchange });
    return { queues: queues.length, exchanges: exchanges.length };
  } finally {
    await connection.close();
  }
}
