// AuditReport.walletMatchesLedger / walletMismatches: the gateway hands over the ledger's seller
// balances (@requires), the wallet compares them with its own rows. Ops (and system) only.
import { BigIntScalar, forbidden } from '@clearhouse/shared';
import { compareWalletsWithLedger, loadAllWallets, type SellerLedgerNumbers, type WalletMismatch } from '../../application/audit.js';
import type { WalletContext } from '../context.js';

interface AuditReference {
  id: string;
  sellerBalances?: { sellerId: string; currency: string; pendingMinor: unknown; availableMinor: unknown; inTransitMinor: unknown }[];
}

function toBigInt(value: unknown): bigint {
  return BigIntScalar.parseValue(value) as bigint;
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
