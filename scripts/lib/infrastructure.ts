// Finds PostgreSQL and RabbitMQ, or says exactly what is missing and how to provide it.
import { spawnSync } from 'node:child_process';
import { Socket } from 'node:net';

export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly variable: string;
  readonly url: string;
}

export function endpointsFrom(env: Record<string, string | undefined>): Endpoint[] {
  const postgresUrl = env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  const amqpUrl = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const pg = new URL(postgresUrl);
  const amqp = new URL(amqpUrl);
  return [
    { name: 'PostgreSQL', host: pg.hostname, port: Number(pg.port || 5432), variable: 'POSTGRES_URL', url: postgresUrl.replace(/\/\/[^@]*@/, '//***@') },
    { name: 'RabbitMQ', host: amqp.hostname, port: Number(amqp.port || 5672), variable: 'AMQP_URL', url: amqpUrl.replace(/\/\/[^@]*@/, '//***@') },
  ];
}

export function reachable(endpoint: Endpoint, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(endpoint.port, endpoint.host, () => done(true));
  });
}

export async function unreachable(env: Record<string, string | undefined>): Promise<Endpoint[]> {
  const endpoints = endpointsFrom(env);
  const results = await Promise.all(endpoints.map((endpoint) => reachable(endpoint)));
  return endpoints.filter((_, index) => !results[index]);
}

export function dockerComposeAvailable(): boolean {
  // CLEARHOUSE_NO_DOCKER=1: never start containers (tests of the missing-infrastructure message).
  if (process.env.CLEARHOUSE_NO_DOCKER === '1') return false;
  const compose = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' });
  if (compose.status !== 0) return false;
  const engine = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
  return engine.status === 0;
}

export function missingInfrastructureMessage(missing: readonly Endpoint[]): string {
  const lines = ['Clearhouse needs PostgreSQL (15 or newer) and RabbitMQ (3.10 or newer) and cannot reach:'];
  for (const endpoint of missing) lines.push(`  - ${endpoint.name} at ${endpoint.host}:${endpoint.port} (${endpoint.variable}=${endpoint.url})`);
  lines.push(
    '',
    'Provide them in one of these ways:',
    '  - install Docker and run this command again: it runs `docker compose up -d postgres rabbitmq` for you;',
    '  - or start local servers (Debian/Ubuntu: `apt-get install postgresql rabbitmq-server`;',
    '    macOS: `brew install postgresql@15 rabbitmq`) and enable the management UI with',
    '    `rabbitmq-plugins enable rabbitmq_management`;',
    '  - or point POSTGRES_URL and AMQP_URL at servers you already run.',
  );
  return lines.join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Makes sure both servers answer; uses Docker Compose when available. Returns an error message or null. */
export async function ensureInfrastructure(env: Record<string, string | undefined>, log: (line: string) => void, useDocker: boolean): Promise<string | null> {
  let missing = await unreachable(env);
  if (missing.length === 0) return null;
  if (!useDocker || !dockerComposeAvailable()) return missingInfrastructureMessage(missing);
  log(`starting ${missing.map((m) => m.name).join(' and ')} with docker compose...`);
  const up = spawnSync('docker', ['compose', 'up', '-d', 'postgres', 'rabbitmq'], { stdio: 'inherit' });
  if (up.status !== 0) return `docker compose up failed (exit ${up.status}).\n${missingInfrastructureMessage(missing)}`;
  const deadlineMs = Date.now() + 90_000;
  while (Date.now() < deadlineMs) {
    missing = await unreachable(env);
    if (missing.length === 0) return null;
    await sleep(1_000);
  }
  return missingInfrastructureMessage(missing);
}
