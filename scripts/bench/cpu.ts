// CPU time per process group from /proc (Linux): the platform's services (children of this
// process, or every process running a service entry when the platform is external), PostgreSQL,
// RabbitMQ and the benchmark itself. Deltas between two snapshots say where the time went.
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

const SERVICE_ENTRIES: readonly [string, string][] = [
  ['gateway', 'gateway/dist/main.js'],
  ['payments', 'subgraphs/payments/dist/main.js'],
  ['ledger', 'subgraphs/ledger/dist/main.js'],
  ['wallet', 'subgraphs/wallet/dist/main.js'],
  ['payouts', 'subgraphs/payouts/dist/main.js'],
  ['psp-sim', 'psp-simulator/dist/main.js'],
];

/** Cumulative CPU ms per `group<TAB>pid` (per process, so a process that exits or starts between
 * two snapshots neither takes its whole history away from its group nor is missed). */
export type CpuSnapshot = Map<string, number>;
const KEY_SEPARATOR = '\t';

function readStat(pid: string): { comm: string; ppid: number; cpuMs: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15.
    const ppid = Number(fields[1]);
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { comm, ppid, cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    return null;
  }
}

/**
 * Whether a process's name (`comm`) is Node's: `node` up to Node 20; Node 22 and later name the
 * main thread, and so the process, `MainThread`.
 */
export function isNodeProcess(comm: string): boolean {
  return comm.startsWith('node') || comm === 'MainThread';
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/**
 * Group name → cumulative CPU milliseconds. With ownChildrenOnly, only services this process
 * started count (other platforms on the machine, e.g. a test run, are left out); `extra` tags
 * further pids by name.
 */
export function cpuSnapshot(ownChildrenOnly: boolean, databasePrefix: string | null = null, extra: Map<number, string> = new Map()): CpuSnapshot {
  const snapshot: CpuSnapshot = new Map();
  const add = (group: string, value: number, pid = '') => snapshot.set(`${group}${KEY_SEPARATOR}${pid}`, (snapshot.get(`${group}${KEY_SEPARATOR}${pid}`) ?? 0) + value);
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return snapshot;
  }
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat) continue;
    const tagged = extra.get(Number(pid));
    if (tagged) {
      add(tagged, stat.cpuMs, pid);
      continue;
    }
    if (stat.comm === 'postgres') {
      // Backends name their database in the command line; other databases are someone else's.
      const command = cmdline(pid);
      const backend = /^postgres: [^:]+: \S+ (\S+) /.exec(command);
      const database = backend?.[1];
      const ours = !(database && databasePrefix && !database.startsWith(databasePrefix));
      add(ours ? 'postgres' : 'postgres (other dbs)', stat.cpuMs, pid);
      // The same time again by database (`pg:payments`…; `pg:server` for the WAL writer,
      // checkpointer and other server processes), for the breakdown table.
      if (ours) add(`${PG_DATABASE_GROUP}${database ? (databasePrefix ? database.slice(databasePrefix.length).replace(/^_/, '') : database) : 'server'}`, stat.cpuMs, pid);
      continue;
    }
    if (stat.comm === 'beam.smp' || stat.comm.startsWith('erl_')) {
      add('rabbitmq', stat.cpuMs, pid);
      continue;
    }
    if (isNodeProcess(stat.comm)) {
      const command = cmdline(pid);
      if (ownChildrenOnly && stat.ppid !== process.pid) continue;
      const service = SERVICE_ENTRIES.find(([, entry]) => command.includes(entry));
      if (service) add(service[0], stat.cpuMs, pid);
    }
  }
  const own = process.cpuUsage();
  add('bench', (own.user + own.system) / 1000);
  add('machine', machineBusyMs());
  return snapshot;
}

/** CPU time (all cores) the whole machine spent busy since boot, in ms. */
function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const group = key.split(KEY_SEPARATOR)[0] ?? key;
    delta.set(group, (delta.get(group) ?? 0) + Math.max(0, value - (before.get(key) ?? 0)));
  }
  // What the machine spent on anything else (other test runs, compilers...): the contention.
  const ours = CPU_GROUPS.reduce((sum, group) => sum + (delta.get(group) ?? 0), 0);
  delta.set('other', Math.max(0, (delta.get('machine') ?? 0) - ours));
  return delta;
}

/** Prefix of the per-database PostgreSQL groups (a breakdown of `postgres`, not counted twice). */
export const PG_DATABASE_GROUP = 'pg:';

export const CPU_GROUPS = ['gateway', 'payments', 'ledger', 'wallet', 'payouts', 'psp-sim', 'postgres', 'rabbitmq', 'bench'] as const;

/** pid → service name of the services this process started. */
export function ownServicePids(): Map<number, string> {
  const found = new Map<number, string>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const pid of pids) {
    const stat = readStat(pid);
    if (!stat || stat.ppid !== process.pid) continue;
    const command = cmdline(pid);
    const service = SERVICE_ENTRIES.find(([, entry]) => command.includes(entry));
    if (service) found.set(Number(pid), service[0]);
  }
  return found;
}
