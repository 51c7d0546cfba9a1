// The README documents every environment variable a service reads (each service's env.ts is
// its only reader of process.env, so scanning those files finds them all).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { REPO_ROOT } from '../../scripts/lib/platform';

function envFiles(): string[] {
  const files = [join(REPO_ROOT, 'gateway/src/env.ts'), join(REPO_ROOT, 'psp-simulator/src/env.ts'), join(REPO_ROOT, 'shared/src/config/common.ts')];
  for (const name of readdirSync(join(REPO_ROOT, 'subgraphs'))) {
    const src = join(REPO_ROOT, 'subgraphs', name, 'src');
    files.push(join(src, 'env.ts'));
    // Parts of a service may contribute a zod shape of their own (e.g. reconciliation/env-shape.ts).
    for (const entry of readdirSync(src, { recursive: true }) as string[]) if (entry.endsWith('env-shape.ts')) files.push(join(src, entry));
  }
  return files.filter((file) => existsSync(file));
}

test('README.md lists every environment variable the services read', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const file of envFiles()) {
    for (const match of readFileSync(file, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]{2,}):/gm)) {
      const name = match[1]!;
      if (!readme.includes(`\`${name}\``)) missing.push(`${name} (${file.replace(REPO_ROOT + '/', '')})`);
    }
  }
  expect(missing).toEqual([]);
});

// ---- The table itself: who reads each variable, and its default (README "Environment variables").

type Service = 'gateway' | 'payments' | 'ledger' | 'wallet' | 'payouts' | 'simulator';
const SERVICES: readonly Service[] = ['gateway', 'payments', 'ledger', 'wallet', 'payouts', 'simulator'];
const SUBGRAPHS: readonly Service[] = ['payments', 'ledger', 'wallet', 'payouts'];
/**
 * "all" in the table: every process built on the shared env helpers must read it; the simulator
 * (a stand-in for the PSP, with its own env.ts) may or may not.
 */
const ALL: readonly Service[] = ['gateway', ...SUBGRAPHS];

interface Row {
  readonly variables: string[];
  readonly defaults: string;
  /** null when the column names something other than services (`npm start`, Node.js, a tool). */
  readonly usedBy: Service[] | null;
  /** "all": the simulator reading it too is no contradiction. */
  readonly all: boolean;
  readonly usedByText: string;
}

function readmeRows(): Row[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Environment variables');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows: Row[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    expect(cells).toHaveLength(4);
    const [variablesCell, defaults, usedByText] = cells as [string, string, string];
    const variables = [...variablesCell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
    const usedBy = new Set<Service>();
    let servicesOnly = true;
    for (const word of usedByText.split(',').map((text) => text.trim())) {
      if (word === 'all') ALL.forEach((service) => usedBy.add(service));
      else if (word === 'subgraphs') SUBGRAPHS.forEach((service) => usedBy.add(service));
      else if ((SERVICES as readonly string[]).includes(word)) usedBy.add(word as Service);
      else servicesOnly = false;
    }
    rows.push({ variables, defaults, usedBy: servicesOnly ? [...usedBy] : null, all: /(^|, )all(,|$)/.test(usedByText), usedByText });
  }
  return rows;
}

type Parse = (source: Record<string, string | undefined>) => Record<string, unknown>;

/** Each service's own parser (its env.ts), loaded lazily: the variables it reads are the keys of its defaults. */
function parsers(): Record<Service, Parse> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const simulator = require('../../psp-simulator/src/env') as { parseEnv: (source: Record<string, string | undefined>) => { env?: Record<string, unknown>; problems?: string[] } };
  return {
    gateway: (require('../../gateway/src/env') as { parseGatewayEnv: Parse }).parseGatewayEnv,
    payments: (require('../../subgraphs/payments/src/env') as { parsePaymentsEnv: Parse }).parsePaymentsEnv,
    ledger: (require('../../subgraphs/ledger/src/env') as { parseLedgerEnv: Parse }).parseLedgerEnv,
    wallet: (require('../../subgraphs/wallet/src/env') as { parseWalletEnv: Parse }).parseWalletEnv,
    payouts: (require('../../subgraphs/payouts/src/env') as { parsePayoutsEnv: Parse }).parsePayoutsEnv,
    simulator: (source) => {
      const parsed = simulator.parseEnv(source);
      if (!parsed.env) throw new Error(parsed.problems!.join('; '));
      return parsed.env;
    },
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** The variables a service reads: its zod shape's keys (optional ones included). */
function variablesOf(service: Service): string[] {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const shapes: Record<Exclude<Service, 'simulator'>, () => Record<string, unknown>> = {
    gateway: () => (require('../../gateway/src/env') as { gatewayEnvShape: Record<string, unknown> }).gatewayEnvShape,
    payments: () => (require('../../subgraphs/payments/src/env') as { paymentsEnvShape: Record<string, unknown> }).paymentsEnvShape,
    ledger: () => (require('../../subgraphs/ledger/src/env') as { ledgerEnvShape: Record<string, unknown> }).ledgerEnvShape,
    wallet: () => (require('../../subgraphs/wallet/src/env') as { walletEnvShape: Record<string, unknown> }).walletEnvShape,
    payouts: () => (require('../../subgraphs/payouts/src/env') as { payoutsEnvShape: Record<string, unknown> }).payoutsEnvShape,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return service === 'simulator' ? Object.keys(parsers().simulator({})) : Object.keys(shapes[service]());
}

test("README's \"used by\" column names exactly the services that read each variable", () => {
  const rows = readmeRows();
  const problems: string[] = [];
  const readers = new Map<string, Set<Service>>();
  for (const service of SERVICES) {
    for (const variable of variablesOf(service)) {
      if (!readers.has(variable)) readers.set(variable, new Set());
      readers.get(variable)!.add(service);
    }
  }
  for (const [variable, services] of readers) {
    const listed = rows.filter((row) => row.variables.includes(variable));
    const named = new Set(listed.flatMap((row) => [...(row.usedBy ?? []), ...(row.all ? SERVICES : [])]));
    for (const service of services) if (!named.has(service)) problems.push(`${variable}: read by ${service}, not named in "used by"`);
  }
  for (const row of rows) {
    for (const variable of row.variables) {
      if (row.usedBy === null) {
        // Not a service's variable (`npm start`, a tool, Node.js): some script must read it.
        const scripts = ['scripts/start.ts', 'scripts/test.ts', 'scripts/lib/infrastructure.ts', 'scripts/lib/platform.ts', 'scripts/tools/dlq.ts', 'scripts/tools/audit.ts', 'scripts/tools/reconcile.ts'];
        if (!scripts.some((file) => readFileSync(join(REPO_ROOT, file), 'utf8').includes(variable))) problems.push(`${variable}: listed for "${row.usedByText}", which never reads it`);
        continue;
      }
      for (const service of row.usedBy) {
        if (!readers.get(variable)?.has(service)) problems.push(`${variable}: listed as used by ${service}, which does not read it`);
      }
    }
  }
  expect(problems).toEqual([]);
});

test("README's defaults are the services' defaults", () => {
  const parse = parsers();
  const problems: string[] = [];
  let checked = 0;
  for (const row of readmeRows()) {
    // Only a cell of plain literals, one per variable: `10000`, `3`, `200`. Prose ("unset",
    // "a development value") and placeholders (`<POSTGRES_URL>/...`) are for people.
    if (row.usedBy === null || !/^`[^`]*`(, `[^`]*`)*$/.test(row.defaults)) continue;
    const literals = [...row.defaults.matchAll(/`([^`]*)`/g)].map((match) => match[1]!);
    if (literals.length !== row.variables.length) continue;
    row.variables.forEach((variable, index) => {
      const literal = literals[index]!;
      if (literal.includes('<')) return;
      for (const service of row.usedBy!) {
        const actual = parse[service]({})[variable];
        let documented: unknown;
        try {
          documented = parse[service]({ [variable]: literal })[variable];
        } catch (error) {
          problems.push(`${variable} (${service}): README default ${literal} is not even valid: ${(error as Error).message}`);
          continue;
        }
        checked += 1;
        if (!isDeepStrictEqual(documented, actual)) problems.push(`${variable} (${service}): README says ${literal}, the service's default is ${String(actual)}`);
      }
    });
  }
  expect(problems).toEqual([]);
  expect(checked).toBeGreaterThan(80);
});

test('README lists the environment variables the operator tools read', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const missing: string[] = [];
  for (const name of readdirSync(join(REPO_ROOT, 'scripts/tools'))) {
    const text = readFileSync(join(REPO_ROOT, 'scripts/tools', name), 'utf8');
    for (const match of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)/g)) if (!readme.includes(`\`${match[1]}\``)) missing.push(`${match[1]} (scripts/tools/${name})`);
  }
  expect(missing).toEqual([]);
});
