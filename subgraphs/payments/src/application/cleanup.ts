// Retention: idempotency keys (≥ 24 h) and processed webhook ids (≥ 72 h), bounded batches.
import { deleteExpiredIdempotencyKeys, deleteInBatches } from '@clearhouse/shared';
import type { PaymentsDeps } from './deps.js';

const BATCHES = { batchSize: 5_000, batchesMax: 20 };

export async function cleanupExpiredRecords(deps: PaymentsDeps, retention: { idempotencyKeysMs: number; webhookEventsMs: number }): Promise<{ idempotencyKeys: number; webhookEvents: number }> {
  const idempotencyKeys = await deleteInBatches((limit) => deleteExpiredIdempotencyKeys(deps.sql, retention.idempotencyKeysMs, limit), BATCHES);
  const cutoff = new Date(Date.now() - retention.webhookEventsMs);
  const webhookEvents = await deleteInBatches((limit) => deps.store.deleteWebhookEventsOlderThan(cutoff, limit), BATCHES);
  if (idempotencyKeys + webhookEvents > 0) deps.logger.info({ idempotencyKeys, webhookEvents }, 'expired records deleted');
  return { idempotencyKeys, webhookEvents };
}
