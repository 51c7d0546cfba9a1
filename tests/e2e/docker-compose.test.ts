// docker-compose.yml (README "The two commands"): what `docker compose up` starts on a user's
// machine must match CONTRACT.md's ports and Ctrl-C contract. Docker itself is not needed: the
// file is read as text (its shape is simple and fixed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/platform';

const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');

/** The lines of one top-level service block (two-space indented name). */
function service(name: string): string {
  const start = compose.indexOf(`\n  ${name}:\n`);
  expect(start).toBeGreaterThan(0);
  const rest = compose.slice(start + 1);
  const end = rest.slice(1).search(/\n {2}[a-z][\w-]*:\n|\n[a-z]/);
  return end < 0 ? rest : rest.slice(0, end + 1);
}

/** Host ports a service publishes ("4001:4001" or "127.0.0.1:4001:4001"). */
function publishedPorts(block: string): number[] {
  return [...block.matchAll(/^\s+- "(?:[\d.]+:)?(\d+):(\d+)"$/gm)].map((match) => Number(match[1]));
}

test('PostgreSQL and RabbitMQ with its management UI, on the default ports', () => {
  expect(service('postgres')).toMatch(/image: postgres:1[5-9]/);
  expect(publishedPorts(service('postgres'))).toEqual([5432]);
  expect(service('rabbitmq')).toMatch(/image: rabbitmq:3\.\d+-management/);
  expect(publishedPorts(service('rabbitmq')).sort()).toEqual([15672, 5672]);
  expect(service('rabbitmq')).toContain('RABBITMQ_DEFAULT_USER: guest');
});

test("the platform publishes every port of CONTRACT.md's table and finds the servers by their service names", () => {
  const platform = service('platform');
  expect(publishedPorts(platform).sort()).toEqual([4000, 4001, 4002, 4003, 4004, 4010]);
  expect(platform).toContain('POSTGRES_URL: postgresql://postgres@postgres:5432');
  expect(platform).toContain('AMQP_URL: amqp://guest:guest@rabbitmq:5672');
  expect(platform).toContain('PSP_PUBLIC_URL: http://localhost:4010');
});

test('`docker compose stop` (SIGTERM to the container) reaches scripts/start.ts, which shuts down gracefully', () => {
  // As PID 1, npm passes SIGTERM to its shell and exits at once; the kernel then kills every other
  // process of the container with SIGKILL, so nothing shuts down gracefully. An init runs
  // start.ts directly instead, and the grace period covers its ordered shutdown.
  const platform = service('platform');
  expect(platform).toMatch(/^\s+init: true$/m);
  expect(platform).toMatch(/^\s+command: \["node", "--import", "tsx", "scripts\/start\.ts"\]$/m);
  expect(platform).toMatch(/^\s+stop_grace_period: \d+s$/m);
});
