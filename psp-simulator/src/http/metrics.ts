// Prometheus text format, computed from the request log and the job scheduler (cheap).
import type { Sim } from '../core/sim.js';

export function renderMetrics(sim: Sim): string {
  const apiByStatus = new Map<string, number>();
  const webhooksByOutcome = new Map<string, number>();
  for (const entry of sim.log.query({})) {
    if (entry.kind === 'api') apiByStatus.set(String(entry.status), (apiByStatus.get(String(entry.status)) ?? 0) + 1);
    else webhooksByOutcome.set(entry.outcome, (webhooksByOutcome.get(entry.outcome) ?? 0) + 1);
  }
  const lines = [
    '# HELP psp_sim_api_requests Recent API requests handled (bounded log window), by status.',
    '# TYPE psp_sim_api_requests gauge',
    ...[...apiByStatus].map(([status, count]) => `psp_sim_api_requests{status="${status}"} ${count}`),
    '# HELP psp_sim_webhook_attempts Recent webhook delivery attempts (bounded log window), by outcome.',
    '# TYPE psp_sim_webhook_attempts gauge',
    ...[...webhooksByOutcome].map(([outcome, count]) => `psp_sim_webhook_attempts{outcome="${outcome}"} ${count}`),
    '# HELP psp_sim_pending_jobs Scheduled jobs (webhook deliveries, payouts, refunds...).',
    '# TYPE psp_sim_pending_jobs gauge',
    `psp_sim_pending_jobs ${sim.jobs.pendingCount()}`,
  ];
  return `${lines.join('\n')}\n`;
}
