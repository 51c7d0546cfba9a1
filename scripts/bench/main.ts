// npm run bench: see BENCHMARKS.md. Loaded by scripts/bench.ts after the build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BenchArgs } from './args';
import { runAudits, type AuditVerdict } from './audit';
import { CPU_GROUPS, PG_DATABASE_GROUP, cpuDelta, cpuSnapshot, ownServicePids } from './cpu';
import { SLOW_MS, STEP_MS, type LoadResult } from './load';
import { openTarget, type BenchTarget } from './platform';
import { calibrate, describeCalibration } from './calibrate';
import { startMaintenance, type Maintenance } from './maintenance';
import { profilesIn, summarizeProfile } from './profile';
import { say } from './progress';
import { WARM_UP_DESCRIPTION, checkoutAtRate, warmUp } from './scenarios/checkout';
import { gatewayCost, type GatewayCostResult } from './scenarios/gateway-cost';
import { ledgerAlone, type LedgerResult } from './scenarios/ledger';
import { settlement, type SettlementResult } from './scenarios/settlement';
import { ms, num, pct, sustainedVerdict, table } from './stats';
import { messageDelta, messageSnapshot, type MessageSnapshot, type ServiceMessages } from './message-counters';
import { workDelta, workSnapshot, type DatabaseWork, type WorkSnapshot } from './work-counters';

interface PhaseCost {
  phase: string;
  ops: number;
  wallMs: number;
  cpuMs: Record<string, number>;
  /** PostgreSQL's transaction and row counters per database over the phase (owned platforms only). */
  work?: Record<string, DatabaseWork>;
  /** Broker messages each service published and consumed over the phase (its own counters). */
  messages?: Record<string, ServiceMessages>;
}

export async function main(args: BenchArgs): Promise<number> {
  const runDir = join(__dirname, '.runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-${args.runId}`);
  mkdirSync(runDir, { recursive: true });
  const serviceEnv: Record<string, string> = { ...args.serviceEnv };
  if (args.profile) {
    const profileDir = join(runDir, 'profiles');
    mkdirSync(profileDir, { recursive: true });
    // Node 20 refuses --cpu-prof in NODE_OPTIONS; a preloaded inspector profiler does the same.
    serviceEnv.NODE_OPTIONS = `${serviceEnv.NODE_OPTIONS ?? ''} --require ${join(__dirname, 'cpu-profiler.cjs')}`.trim();
    serviceEnv.BENCH_CPU_PROF_DIR = profileDir;
  }
  const targetOptions = { runId: args.runId, runDir, build: args.build, keep: args.keep, logLevel: args.logLevel, serviceEnv };
  const startLoad = loadavg().map((v) => v.toFixed(2)).join(' ');
  say(`run ${args.runId}: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  say(`scenarios ${args.scenarios.join(',')}; results in ${runDir}`);
  // Before the platform starts (an external one is idle), so that nothing else is on the cores.
  const calibration = await calibrate();
  say(`machine yardsticks: ${describeCalibration(calibration)}`);

  const needsPlatform = args.scenarios.some((s) => s !== 'c');
  let target: BenchTarget | null = null;
  const costs: PhaseCost[] = [];
  const checkoutResults: LoadResult[] = [];
  let settlementResult: SettlementResult | null = null;
  let ledgerResult: LedgerResult | null = null;
  let gatewayResults: GatewayCostResult[] = [];
  let audits: AuditVerdict[] = [];
  let servicePids = new Map<number, string>();
  const failures: string[] = [];
  const postgresServerUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

  /** Runs a phase and charges the CPU it used; `markEnd` ends the measurement early (before a service it started stops). */
  const measured = async <T>(phase: string, run: (markEnd: () => void) => Promise<T>, ops: (result: T) => number): Promise<T> => {
    const own = target?.owned ?? true;
    const prefix = own ? `clearhouse_bench_${args.runId}` : null;
    const counted = (): Promise<WorkSnapshot | null> => (prefix ? workSnapshot(postgresServerUrl, prefix).catch(() => null) : Promise.resolve(null));
    const subgraphUrls = target?.subgraphUrls;
    const messagesCounted = (): Promise<MessageSnapshot | null> => (subgraphUrls ? messageSnapshot(subgraphUrls) : Promise.resolve(null));
    const workBefore = await counted();
    const messagesBefore = await messagesCounted();
    const before = cpuSnapshot(own, prefix);
    const startedAt = Date.now();
    let after: ReturnType<typeof cpuSnapshot> | null = null;
    let workAfter: Promise<WorkSnapshot | null> | null = null;
    let messagesAfter: Promise<MessageSnapshot | null> | null = null;
    let endedAt = 0;
    const result = await run(() => {
      after = cpuSnapshot(own, prefix);
      endedAt = Date.now();
      workAfter = counted();
      messagesAfter = messagesCounted();
    });
    if (!after) {
      after = cpuSnapshot(own, prefix);
      endedAt = Date.now();
      workAfter = counted();
      messagesAfter = messagesCounted();
    }
    const delta = cpuDelta(before, after);
    const workEnd = await (workAfter as Promise<WorkSnapshot | null> | null);
    const messagesEnd = await (messagesAfter as Promise<MessageSnapshot | null> | null);
    costs.push({
      phase,
      ops: ops(result),
      wallMs: endedAt - startedAt,
      cpuMs: Object.fromEntries(delta),
      ...(workBefore && workEnd ? { work: workDelta(workBefore, workEnd) } : {}),
      ...(messagesBefore && messagesEnd ? { messages: messageDelta(messagesBefore, messagesEnd) } : {}),
    });
    return result;
  };

  // Ctrl-C (or a CI timeout) stops the platform and drops its databases instead of orphaning them.
  const interrupted = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping the platform ...`);
    void (target ? target.stop() : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // (c) measures the ledger alone: it runs first, before the platform of the other scenarios
  // starts, so that platform's idle services (~8 % of a core with their database backends) do not
  // share the cores with it.
  const ledgerScenario = () =>
    measured(
      `ledger ${args.ledgerMode} ${args.ledgerRate}/s`,
      (markEnd) =>
        ledgerAlone(args.runId, targetOptions, markEnd, {
          mode: args.ledgerMode,
          rate: args.ledgerRate,
          durationSec: args.durationSec,
          drainTimeoutSec: args.drainTimeoutSec,
          sellerPool: 20,
          concurrency: args.ledgerConcurrency,
        }),
      (r) => r.posted,
    );
  // Owned platforms only: an external one has its own server and maintenance.
  let maintenance: Maintenance | null = null;
  if (!process.env.BENCH_GATEWAY_URL) {
    maintenance = await startMaintenance(postgresServerUrl, `clearhouse_bench_${args.runId}`);
    if (maintenance.stats.active) say(`PostgreSQL runs with autovacuum = off: the bench runs autovacuum's ANALYZE/VACUUM on the run’s databases instead, each database once per autovacuum_naptime (${maintenance.stats.naptimeMs / 1000} s) as autovacuum would (BENCHMARKS.md)`);
  }
  try {
    if (args.scenarios.includes('c')) {
      try {
        ledgerResult = await ledgerScenario();
      } catch (error) {
        const message = `scenario c failed: ${error instanceof Error ? error.message : String(error)}`;
        failures.push(message);
        say(message);
      }
    }
    if (needsPlatform) {
      target = await openTarget(targetOptions);
      servicePids = ownServicePids();
      await warmUp(target, args.durationSec);
    }
    for (const scenario of args.scenarios.filter((s) => s !== 'c')) {
      try {
        if (scenario === 'a' && target) {
          for (const rate of args.rates) {
            const t = target;
            checkoutResults.push(await measured(`createCheckout ${rate > 0 ? `${rate}/s` : 'max'}`, () => checkoutAtRate(t, rate, args.durationSec, args.connections), (r) => r.completed));
          }
        }
        if (scenario === 'd' && target) {
          const t = target;
          gatewayResults = await gatewayCost(t, Math.max(5, Math.round(args.durationSec / 2)), [100, 0], Math.min(args.connections, 16));
        }
        if (scenario === 'b' && target) {
          const t = target;
          settlementResult = await measured(
            `settlement ${args.settleRate}/s`,
            (markEnd) => settlement(t, { rate: args.settleRate, durationSec: args.settleDurationSec, payConcurrency: args.payConcurrency, drainTimeoutSec: args.drainTimeoutSec, card: '4242424242424242' }, markEnd),
            (r) => r.posted,
          );
        }
      } catch (error) {
        const message = `scenario ${scenario} failed: ${error instanceof Error ? error.message : String(error)}`;
        failures.push(message);
        say(message);
      }
    }
    if (target) audits = await runAudits(target);
  } finally {
    await maintenance?.stop();
    if (target) await target.stop();
  }

  // ---------------------------------------------------------------- report
  const out: string[] = [];
  out.push(`\n## Clearhouse benchmark ${args.runId} (${new Date().toISOString()})\n`);
  out.push(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; load average at start ${startLoad}, at end ${loadavg().map((v) => v.toFixed(2)).join(' ')}; services' LOG_LEVEL ${args.logLevel}${Object.keys(args.serviceEnv).length ? `; extra env ${JSON.stringify(args.serviceEnv)}` : ''}.\n`);
  out.push(`Yardsticks, measured before any load (and before an owned platform started): ${describeCalibration(calibration)}.\n`);
  if (maintenance?.stats.active) {
    const m = maintenance.stats;
    out.push(`PostgreSQL's autovacuum is off on this server; the bench stood in for it on the run's databases, each once per autovacuum_naptime (${m.naptimeMs / 1000} s): ${m.passes} database visits, ${m.analyzed} ANALYZE and ${m.vacuumed} VACUUM of tables over autovacuum's default thresholds${m.costDelay ? `, with autovacuum's cost-based delay (${m.costDelay.delay} after every ${m.costDelay.limit} units of work)` : ''}${m.errors.length ? `; errors: ${m.errors.slice(0, 3).join('; ')}` : ''}.\n`);
  }
  if (checkoutResults.length > 0) {
    out.push('### (a) createCheckout through the gateway\n');
    out.push(
      table(
        ['target', 'achieved', 'requests', 'p50', 'p95', 'p99', 'max', `p99 first ${STEP_MS / 1000} s / after`, `over ${SLOW_MS} ms: first ${STEP_MS / 1000} s / after`, 'error rate', 'errors'],
        checkoutResults.map((r) => [
          r.targetRate > 0 ? `${r.targetRate}/s` : `max (${args.connections} conn.)`,
          `${num(r.achievedRate)}/s`,
          String(r.completed),
          ms(r.latency.p50),
          ms(r.latency.p95),
          ms(r.latency.p99),
          ms(r.latency.max),
          `${ms(r.step.first.p99)} / ${ms(r.step.rest.p99)}`,
          `${r.step.first.slow} / ${r.step.rest.slow}`,
          pct(r.errorRate),
          Object.entries(r.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '-',
        ]),
      ),
    );
    out.push(
      `\nEach phase starts with a step from the previous phase's rate (the first from the ${WARM_UP_DESCRIPTION}); the two right-hand columns split its requests at ${STEP_MS / 1000} s after it began, by when they were sent. results.json has each phase's timeline per second.\n`,
    );
  }
  if (settlementResult) {
    const s = settlementResult;
    out.push(`### (b) full settlement (checkout → hosted page → webhook → SUCCEEDED → ledger → wallet), target ${args.settleRate}/s for ${args.settleDurationSec} s\n`);
    const sustainedSeconds = s.perSecond.filter((n) => n >= 200).length;
    out.push(
      table(
        ['metric', 'value'],
        [
          ['checkouts created / paid / SUCCEEDED', `${s.created} / ${s.paid} / ${s.succeeded}`],
          ['createCheckout under load: achieved, p50 / p99, errors', `${num(s.checkout.achievedRate)}/s, ${ms(s.checkout.latency.p50)} / ${ms(s.checkout.latency.p99)}, ${pct(s.checkout.errorRate)}`],
          ['hosted-page POST: p50 / p99, errors', `${ms(s.payLatency.p50)} / ${ms(s.payLatency.p99)}, ${JSON.stringify(s.payErrors)}`],
          ['ledger-posted (payments)', `${s.posted} (${s.duplicatePostings} with >1 pay-in posting)`],
          ['wallet matches the orders (sellers)', `${s.walletMatched} of ${s.walletChecked}`],
          ['settled/s inside the load window', num(s.settledPerSecInWindow)],
          ['settled/s overall (first pay → last posting)', num(s.settledPerSecOverall)],
          ['seconds of the window with ≥200 settled', `${sustainedSeconds} of ${s.perSecond.length}`],
          ['per-second settled (min / median / max)', `${Math.min(...s.perSecond)} / ${[...s.perSecond].sort((a, b) => a - b)[Math.floor(s.perSecond.length / 2)] ?? '-'} / ${Math.max(...s.perSecond)}`],
          ['pay → ledger posted: p50 / p95 / p99 / max', `${ms(s.endToEnd.p50)} / ${ms(s.endToEnd.p95)} / ${ms(s.endToEnd.p99)} / ${ms(s.endToEnd.max)}`],
          ['paid but not posted at load end / after drain', `${s.backlogAtLoadEnd} / ${s.unsettledAfterDrain} (drain ${(s.drainMs / 1000).toFixed(1)} s)`],
          ['statuses', JSON.stringify(s.statuses)],
        ],
      ),
    );
    out.push('');
  }
  if (ledgerResult) {
    const l = ledgerResult;
    out.push(`### (c) ledger alone (${l.note})\n`);
    out.push(
      table(
        ['metric', 'value'],
        [
          ['events published (rate)', `${l.published} (${num(l.publishRate)}/s)`],
          ['postings written', String(l.posted)],
          ['balanced postings/s (first → last posting)', num(l.postingsPerSec)],
          ['median postings per full second', num(l.medianPerSec, 0)],
          ['books balanced / unbalanced txns / duplicate refs / balance drift rows', `${l.balanced} / ${l.unbalancedTransactions} / ${l.duplicateReferences} / ${l.driftRows}`],
          ['published but not posted', String(l.unposted)],
          ['consumer queue', l.consumerQueue ?? '-'],
        ],
      ),
    );
    out.push('');
  }
  if (gatewayResults.length > 0) {
    out.push('### (d) the gateway’s own cost: `payment(id)` read, through the gateway vs. signed straight to the payments subgraph\n');
    out.push(
      table(
        ['load', 'path', 'achieved', 'p50', 'p99', 'errors', 'ratio (gateway / direct)'],
        gatewayResults.flatMap((g) => [
          [g.mode, 'gateway', `${num(g.viaGateway.achievedRate)}/s`, ms(g.viaGateway.latency.p50), ms(g.viaGateway.latency.p99), pct(g.viaGateway.errorRate), ''],
          [
            g.mode,
            'direct',
            `${num(g.direct.achievedRate)}/s`,
            ms(g.direct.latency.p50),
            ms(g.direct.latency.p99),
            pct(g.direct.errorRate),
            g.viaGateway.targetRate > 0
              ? `p50 ×${num(g.viaGateway.latency.p50 / g.direct.latency.p50, 2)}, p99 ×${num(g.viaGateway.latency.p99 / g.direct.latency.p99, 2)}`
              : `throughput ×${num(g.viaGateway.achievedRate / g.direct.achievedRate, 2)}, p50 ×${num(g.viaGateway.latency.p50 / g.direct.latency.p50, 2)}`,
          ],
        ]),
      ),
    );
    out.push('');
  }
  if (costs.length > 0) {
    out.push('### CPU per operation (ms of CPU per request/settled payment, by process; util = share of all cores used by the benchmark and the platform; other load = share used by anything else on the machine, i.e. contention)\n');
    const groups = CPU_GROUPS.filter((group) => costs.some((c) => (c.cpuMs[group] ?? 0) > 0));
    out.push(
      table(
        ['phase', 'ops', ...groups, 'total', 'util', 'other load'],
        costs.map((c) => {
          const total = groups.reduce((sum, group) => sum + (c.cpuMs[group] ?? 0), 0);
          return [
            c.phase,
            String(c.ops),
            ...groups.map((group) => num((c.cpuMs[group] ?? 0) / Math.max(1, c.ops), 2)),
            num(total / Math.max(1, c.ops), 2),
            pct(total / (c.wallMs * cpus().length)),
            pct((c.cpuMs.other ?? 0) / (c.wallMs * cpus().length)),
          ];
        }),
      ),
    );
    out.push('');
    /** A table of two counts per operation (`a / b`) for each key (database, service) of each phase. */
    const pairsPerOperation = (title: string, pairs: (c: PhaseCost) => Record<string, readonly [number, number]> | undefined) => {
      const keys = [...new Set(costs.flatMap((c) => Object.keys(pairs(c) ?? {})))].sort();
      if (keys.length === 0) return;
      out.push(`${title}\n`);
      out.push(
        table(
          ['phase', ...keys],
          costs.map((c) => [
            c.phase,
            ...keys.map((key) => {
              const pair = pairs(c)?.[key];
              return pair ? `${num(pair[0] / Math.max(1, c.ops), 2)} / ${num(pair[1] / Math.max(1, c.ops), 2)}` : '-';
            }),
          ]),
        ),
      );
      out.push('');
    };
    pairsPerOperation(
      'PostgreSQL work per operation, by database: transactions committed / rows inserted, updated or deleted (`pg_stat_database`; unlike CPU, these counts do not move with the VM’s speed; transactions include every autocommitted read, the bench’s polls and the outbox relays’ idle checks):',
      (c) => c.work && Object.fromEntries(Object.entries(c.work).map(([database, work]) => [database, [work.commits, work.rowsWritten] as const])),
    );
    pairsPerOperation(
      'Broker messages per operation, by service: published / consumed (each service’s `clearhouse_outbox_published_total` and `clearhouse_messages_consumed_total` from its GET /metrics; counts that, like the rows above, do not move with the VM’s speed):',
      (c) => c.messages && Object.fromEntries(Object.entries(c.messages).map(([service, messages]) => [service, [messages.published, messages.consumed] as const])),
    );
    const databases = [...new Set(costs.flatMap((c) => Object.keys(c.cpuMs).filter((key) => key.startsWith(PG_DATABASE_GROUP))))].sort();
    if (databases.length > 0) {
      out.push('PostgreSQL’s share above, by database (ms of CPU per operation; `server` = the WAL writer, checkpointer and other server processes):\n');
      out.push(
        table(
          ['phase', ...databases.map((key) => key.slice(PG_DATABASE_GROUP.length))],
          costs.map((c) => [c.phase, ...databases.map((key) => num((c.cpuMs[key] ?? 0) / Math.max(1, c.ops), 2))]),
        ),
      );
      out.push('');
    }
  }
  const requirements: [string, boolean | null, string][] = [];
  const at100 = checkoutResults.find((r) => r.targetRate === 100);
  if (at100) requirements.push(['createCheckout p99 < 100 ms at 100 req/s', at100.latency.p99 < 100 && at100.errorRate < 0.01, `p99 ${ms(at100.latency.p99)} (first ${STEP_MS / 1000} s ${ms(at100.step.first.p99)}, after ${ms(at100.step.rest.p99)}), errors ${pct(at100.errorRate)}`]);
  if (settlementResult) {
    const s = settlementResult;
    const verdict = sustainedVerdict(s.perSecond, s.settledPerSecInWindow, s.loadWindowMs);
    requirements.push([`≥200 settled payments/s sustained for 60 s`, verdict.passed, verdict.detail]);
  }
  if (ledgerResult) requirements.push(['ledger ≥1,000 balanced postings/s on hot accounts', ledgerResult.postingsPerSec >= 1000 && ledgerResult.balanced, `${num(ledgerResult.postingsPerSec)}/s, balanced ${ledgerResult.balanced}`]);
  for (const audit of audits) requirements.push([`audit: ${audit.source}`, audit.passed, audit.detail.split('\n')[0] ?? '']);
  out.push('### Verdict\n');
  out.push(table(['check', 'result', 'measured'], requirements.map(([name, ok, detail]) => [name, ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL', detail])));
  for (const audit of audits) if (audit.detail.includes('\n') || audit.detail.length > 80) out.push(`\n${audit.source}:\n\n\`\`\`\n${audit.detail}\n\`\`\``);
  if (failures.length > 0) out.push(`\nFailures:\n${failures.map((f) => `- ${f}`).join('\n')}`);

  if (args.profile) {
    const profiles = profilesIn(join(runDir, 'profiles'));
    if (profiles.length > 0) {
      out.push('\n### CPU profiles (self time, share of busy time)\n');
      for (const file of profiles) {
        const summary = summarizeProfile(file);
        const service = servicePids.get(summary.pid) ?? (summary.pid === ledgerResult?.servicePid ? 'ledger (isolated, scenario c)' : undefined);
        if (!service) continue; // e.g. the audit tool, which inherits NODE_OPTIONS
        out.push(`**${service}** busy ${num(summary.busyMs / 1000)} s of ${num(summary.totalMs / 1000)} s\n`);
        out.push(table(['package / file', 'self', 'share'], summary.top.map((t) => [t.bucket, ms(t.ms), pct(t.share)])));
        out.push('');
        out.push(table(['function', 'self', 'share'], summary.topFunctions.slice(0, 8).map((t) => [t.name, ms(t.ms), pct(t.share)])));
        out.push('');
      }
    }
  }
  const report = out.join('\n');
  process.stdout.write(`${report}\n`);
  writeFileSync(join(runDir, 'report.md'), report);
  writeFileSync(
    join(runDir, 'results.json'),
    JSON.stringify({ args, calibration, checkoutResults, settlementResult, ledgerResult, gatewayResults, costs, audits, failures }, (_, value) => (typeof value === 'bigint' ? value.toString() : value), 2),
  );
  say(`report: ${join(runDir, 'report.md')}`);
  const auditFailed = audits.some((audit) => audit.passed === false);
  return failures.length > 0 || auditFailed ? 1 : 0;
}
