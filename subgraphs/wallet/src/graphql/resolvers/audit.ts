// AuditReport.walletMatchesLedger / walletMismatches: the gateway hands over the ledger's seller
// balances (@requires), the wallet compares them with its own rows. Ops (and system) only.
import { forbidden } from '@clearhouse/shared';
import { compareWalletsWithLedger, loadAllWallets, type SellerLedgerNumbers, type WalletMismatch } from '../../application/audit.js';
import type { WalletContext } from '../context.js';

interface AuditReference {
  id: string;
  sellerBalances?: { sellerId: string; currency: string; pendingMinor: unknown; availableMinor: unknown; inTransitMinor: unknown }[];
}

const SIGNED_DIGITS = /^-?(0|[1-9][0-9]{0,29})$/;

/**
 * The ledger's balances arrive as the BigInt scalar's output (a string of digits, negative for a
 * seller whose refunds exceeded its balance), not as client input, so they are parsed as signed.
 */
function toBigInt(value: unknown): bigint {
  if (typeof value === 'string' && SIGNED_DIGITS.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`expected an integer amount from the ledger, got ${JSON.stringify(value)}`);
}

export async function resolveAuditReference(reference: AuditReference, context: WalletContext): Promise<{ id: string; mismatches: WalletMismatch[] }> {
  if (context.caller.role !== 'ops' && context.caller.role !== 'system') throw forbidden('the audit is for ops keys');
  const ledger: SellerLedgerNumbers[] = (reference.sellerBalances ?? []).map((row) => ({
    sellerId: row.sellerId,
    currency: row.currency,
    pendingMinor: toBigInt(row.pendingMinor),
    availableMinor: toBigInt(row.availableMinor),
    inTransitMinor: toBigInt(row.inTransitMinor),
  }));
  return { id: reference.id, mismatches: compareWalletsWithLedger(await loadAllWallets(context.prisma), ledger) };
}

export const auditReportResolvers = {
  __resolveReference: resolveAuditReference,
  walletMatchesLedger: (report: { mismatches: WalletMismatch[] }) => report.mismatches.length === 0,
  walletMismatches: (report: { mismatches: WalletMismatch[] }) => report.mismatches,
};
