// Hot accounts are split into sub-accounts (ARCHITECTURE.md "Scaling"): one ledger_accounts row
// per shard, so concurrent postings lock different rows. The shard of a posting is a pure
// function of its reference, so a redelivered posting picks the same rows.
import type { AccountCode } from '../domain/index.js';

/** Accounts every payment (or payout) touches: the rows that would otherwise serialize postings. */
export const HOT_ACCOUNT_CODES: ReadonlySet<string> = new Set(['psp_receivable', 'platform_fee_revenue', 'payouts_in_transit', 'psp_fee_expense']);

export const HOT_ACCOUNT_SHARDS_MAX = 64;
export const HOT_ACCOUNT_SHARDS_DEFAULT = 8;

/** FNV-1a 32-bit: cheap, stable across processes and versions (unlike a seeded hash). */
export function referenceHash(reference: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < reference.length; index++) {
    hash ^= reference.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function shardFor(accountCode: AccountCode, reference: string, hotAccountShards: number): number {
  if (!HOT_ACCOUNT_CODES.has(accountCode) || hotAccountShards <= 1) return 0;
  return referenceHash(reference) % hotAccountShards;
}
