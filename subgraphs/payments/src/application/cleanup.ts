// Retention: idempotency keys (≥ 24 h) and processed webhook ids (≥ 72 h), bounded batches.
import { deleteExpiredIdempotencyKeys } from '@clearhouse/shared';
import type { PaymentsDeps } from './deps.js';

const DELETE_BATCH_SIZE = 5_000;
const BATCHES_PER_RUN_MAX = 20;

export async function cleanupExpiredRecords(deps: PaymentsDeps, retention: { idempotencyKeysMs: number; webhookEventsMs: number }): Promise<{ idempotencyKeys: number; webhookEvents: number }> {
  let idempotencyKeys = 0;
  let webhookEvents = 0;
  for (let batch = 0; batch < BATCHES_PER_RUN_MAX; batch++) {
    const deleted = await deleteExpiredIdempotencyKeys(deps.sql, retention.idempotencyKeysMs, DELETE_BATCH_SIZE);
    idempotencyKeys += deleted;
    if (deleted < DELETE_BATCH_SIZE) break;
  }
  const cutoff = new Date(Date.now() - retention.webhookEventsMs);
  for (let batch = 0; batch < BATCHES_PER_RUN_MAX; batch++) {
    const deleted = await deps.store.deleteWebhookEventsOlderThan(cutoff, DELETE_BATCH_SIZE);
    webhookEvents += deleted;
    if (deleted < DELETE_BATCH_SIZE) break;
  }
  if (idempotencyKeys + webhookEvents > 0) deps.logger.info({ idempotencyKeys, webhookEvents }, 'expired records deleted');
  return { idempotencyKeys, webhookEvents };
}
