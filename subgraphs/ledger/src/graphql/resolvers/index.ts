// Thin resolvers: access check, then one query from persistence/ledger-queries.ts.
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { isSupportedCurrency, scalarResolvers } from '@clearhouse/shared';
import { auditLedger, sellerLedgerBalances } from '../../application/audit.js';
import { isKnownAccountCode } from '../../domain/index.js';
import {
  balanceAt,
  decodeCursor,
  findAccount,
  listAccountEntries,
  listTransactions,
  trialBalance,
  type AccountView,
} from '../../persistence/ledger-queries.js';
import { requireAccountAccess, requireFinance, requireOps } from '../access.js';
import type { LedgerContext } from '../context.js';
import { badInput, requirePageSize, requireTransactionKind } from './arguments.js';
import { reconciliationResolvers } from './reconciliation.js';
import { connectionOf, entryOf, moneyOf, transactionOf } from '../mappers.js';

function requireCurrency(currency: string): void {
  if (!isSupportedCurrency(currency)) throw badInput(`unsupported currency ${JSON.stringify(currency.slice(0, 8))}`);
}

function requireCursor(after: string | null | undefined): string | undefined {
  if (after === null || after === undefined) return undefined;
  if (decodeCursor(after) === undefined) throw badInput('invalid cursor');
  return after;
}

export const resolvers: GraphQLResolverMap<LedgerContext> = {
  ...scalarResolvers,
  Query: {
    ...reconciliationResolvers.Query,
    ledgerAccount: async (_: unknown, args: { code: string; currency: string }, context: LedgerContext) => {
      requireAccountAccess(context.caller, args.code);
      requireCurrency(args.currency);
      if (!isKnownAccountCode(args.code)) return null;
      return (await findAccount(context.db, args.code, args.currency)) ?? null;
    },
    trialBalance: async (_: unknown, args: { currency: string }, context: LedgerContext) => {
      requireFinance(context.caller);
      requireCurrency(args.currency);
      const trial = await trialBalance(context.db, args.currency);
      return {
        currency: args.currency,
        totalDebits: moneyOf(trial.totalDebitsMinor, args.currency),
        totalCredits: moneyOf(trial.totalCreditsMinor, args.currency),
        balanced: trial.totalDebitsMinor === trial.totalCreditsMinor,
      };
    },
    journalTransactions: async (_: unknown, args: { first?: number | null; after?: string | null; kind?: string | null }, context: LedgerContext) => {
      requireFinance(context.caller);
      const page = await listTransactions(context.db, requirePageSize(args.first, 50), requireCursor(args.after), requireTransactionKind(args.kind));
      return connectionOf(page, transactionOf);
    },
    audit: async (_: unknown, __: unknown, context: LedgerContext) => {
      requireOps(context.caller);
      const report = await auditLedger(context.prisma);
      return {
        id: report.generatedAt.toISOString(),
        generatedAt: report.generatedAt,
        ok: report.ok,
        currencies: report.currencies.map((check) => ({
          currency: check.currency,
          totalDebits: moneyOf(check.totalDebitsMinor, check.currency),
          totalCredits: moneyOf(check.totalCreditsMinor, check.currency),
          balanced: check.balanced,
        })),
        accountDrifts: report.accountDrifts.map((drift) => ({
          code: drift.code,
          currency: drift.currency,
          balance: moneyOf(drift.balanceMinor, drift.currency),
          entriesBalance: moneyOf(drift.entriesBalanceMinor, drift.currency),
        })),
        postingCounts: report.postingCounts,
        violations: report.violations,
        sellerBalances: await sellerLedgerBalances(context.prisma),
      };
    },
  },
  LedgerAccount: {
    balance: (account: AccountView) => moneyOf(account.balanceMinor, account.currency),
    balanceAt: async (account: AccountView, args: { at: Date }, context: LedgerContext) => moneyOf(await balanceAt(context.db, account.code, account.currency, args.at), account.currency),
    entries: async (account: AccountView, args: { first?: number | null; after?: string | null }, context: LedgerContext) =>
      connectionOf(await listAccountEntries(context.db, account.code, account.currency, requirePageSize(args.first, 50), requireCursor(args.after)), entryOf),
  },
  Payment: {
    // Seller keys get an empty list: the journal is finance data (see graphql/access.ts).
    ledgerTransactions: async (payment: { id: string }, _: unknown, context: LedgerContext) => {
      if (context.caller.role === 'seller') return [];
      return (await context.loaders.transactionsByCorrelation.load(payment.id)).map(transactionOf);
    },
  },
  AuditReport: {
    // The gateway asks for the report's fields through the query above; a reference alone
    // (from another subgraph) is not enough to rebuild a point-in-time report.
    __resolveReference: () => null,
  },
  ...reconciliationResolvers.types,
} as GraphQLResolverMap<LedgerContext>;
