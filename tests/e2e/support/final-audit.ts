// After the whole black-box suite: the ops audit through the gateway must show every currency's
// trial balance balanced, every running balance equal to its entries, nothing posted twice, and
// every seller's wallet equal to its ledger accounts. Events may still be in flight when the last
// test ends, so the audit is retried for a bounded time until the system is quiet.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, type RunningPlatform } from '../../../scripts/lib/platform';

const AUDIT = `{ audit { ok walletMatchesLedger violations currencies { currency balanced totalDebits { amount } totalCredits { amount } }
  walletMismatches { sellerId currency field walletMinor ledgerMinor } } }`;
const ATTEMPTS_MAX = 15;
const ATTEMPT_DELAY_MS = 2_000;

interface AuditResult {
  ok: boolean;
  walletMatchesLedger: boolean;
  violations: string[];
  currencies: { currency: string; balanced: boolean; totalDebits: { amount: string }; totalCredits: { amount: string } }[];
  walletMismatches: unknown[];
}

export async function finalAudit(platform: RunningPlatform): Promise<string> {
  let last: AuditResult | null = null;
  let lastError = '';
  for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt += 1) {
    const response = await fetch(platform.urls.gateway, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${platform.env.CLEARHOUSE_OPS_KEY}` },
      body: JSON.stringify({ query: AUDIT }),
    });
    const body = (await response.json()) as { data?: { audit: AuditResult }; errors?: unknown[] };
    if (body.data?.audit) {
      last = body.data.audit;
      if (last.ok && last.walletMatchesLedger) {
        const lines = last.currencies.map((c) => `${c.currency}: debits ${c.totalDebits.amount} = credits ${c.totalCredits.amount}`);
        return `final audit clean (attempt ${attempt}): ${lines.join('; ')}; every wallet equals its ledger accounts; ${auditCommand(platform)}`;
      }
    } else {
      lastError = JSON.stringify(body.errors);
    }
    await new Promise((resolve) => setTimeout(resolve, ATTEMPT_DELAY_MS));
  }
  throw new Error(`final audit failed after the e2e suite: ${last ? JSON.stringify(last) : lastError}`);
}

/** The operators' command (`npm run audit`) over the same databases must agree. */
function auditCommand(platform: RunningPlatform): string {
  const result = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/run-tool.mjs'), 'audit'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...platform.env, NODE_OPTIONS: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`npm run audit failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  return '`npm run audit` exit 0';
}
