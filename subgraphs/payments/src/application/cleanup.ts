// Retention: idempotency keys (≥ 24 h, shared's cleanupExpiredIdempotencyKeys) and processed
// webhook ids (≥ 72 h), bounded batches.
import { cleanupExpiredIdempotencyKeys, deleteInBatches } from '@clearhouse/shared';
import type { PaymentsDeps } from './deps.js';

const BATCHES = { batchSize: 5_000, batchesMax: 20 };

export async function cleanupExpiredRecords(deps: PaymentsDeps, retention: { idempotencyKeysMs: number; webhookEventsMs: number }): Promise<{ idempotencyKeys: number; webhookEvents: number }> {
  const idempotencyKeys = await cleanupExpiredIdempotencyKeys({ db: deps.sql, logger: deps.logger }, retention.idempotencyKeysMs);
  const cutoff = new Date(Date.now() - retention.webhookEventsMs);
  const webhookEvents = await deleteInBatches((limit) => deps.store.deleteWebhookEventsOlderThan(cutoff, limit), BATCHES);
  if (webhookEvents > 0) deps.logger.info({ webhookEvents }, 'expired webhook ids deleted');
  return { idempotencyKeys, webhookEvents };
}
