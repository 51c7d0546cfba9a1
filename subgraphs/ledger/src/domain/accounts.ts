// The chart of accounts (ARCHITECTURE.md "Ledger"): account codes, their type and normal
// balance. One ledger account exists per (code, currency); the code never contains a currency.
import { ruleFailure } from './errors.js';

export type AccountType = 'ASSET' | 'LIABILITY' | 'EQUITY' | 'REVENUE' | 'EXPENSE';
export type Direction = 'DEBIT' | 'CREDIT';
/** The side on which an account's balance grows: assets and expenses debit, the rest credit. */
export type NormalBalance = Direction;

export type SellerAccountPrefix = 'seller_pending' | 'seller_available';

export type SystemAccountCode =
  | 'psp_receivable'
  | 'payouts_in_transit'
  | 'platform_fee_revenue'
  | 'psp_fee_expense'
  | 'chargeback_loss_expense'
  | 'refunds_clearing'
  | 'disputes_clearing'
  | 'fx_clearing'
  | 'fx_gain_loss';

export type AccountCode = SystemAccountCode | `${SellerAccountPrefix}:${string}`;

export interface AccountDefinition {
  readonly code: AccountCode;
  readonly type: AccountType;
  readonly normalBalance: NormalBalance;
}

interface SystemAccountSpec {
  readonly type: AccountType;
  readonly normalBalance: NormalBalance;
  /** Why the account exists; shown to operators. */
  readonly meaning: string;
}

export const SYSTEM_ACCOUNTS: { readonly [C in SystemAccountCode]: SystemAccountSpec } = {
  psp_receivable: { type: 'ASSET', normalBalance: 'DEBIT', meaning: 'money the PSP holds for us' },
  payouts_in_transit: { type: 'LIABILITY', normalBalance: 'CREDIT', meaning: 'payouts sent to the PSP, not yet confirmed paid' },
  platform_fee_revenue: { type: 'REVENUE', normalBalance: 'CREDIT', meaning: 'our commission' },
  psp_fee_expense: { type: 'EXPENSE', normalBalance: 'DEBIT', meaning: 'what the PSP charged us (incl. dispute fees the platform bears)' },
  chargeback_loss_expense: { type: 'EXPENSE', normalBalance: 'DEBIT', meaning: 'lost disputes the platform bears' },
  refunds_clearing: { type: 'LIABILITY', normalBalance: 'CREDIT', meaning: 'refunds requested, not yet confirmed by the PSP (reserved)' },
  disputes_clearing: {
    type: 'LIABILITY',
    normalBalance: 'CREDIT',
    meaning: 'seller funds withheld while a dispute is open; owed to the seller (won) or the buyer (lost)',
  },
  fx_clearing: { type: 'ASSET', normalBalance: 'DEBIT', meaning: 'currency conversion position of FX payouts, per currency' },
  fx_gain_loss: { type: 'EXPENSE', normalBalance: 'DEBIT', meaning: 'rounding and rate differences of FX payouts (credit balance = gain)' },
};

const SELLER_ACCOUNTS: { readonly [P in SellerAccountPrefix]: SystemAccountSpec } = {
  seller_pending: { type: 'LIABILITY', normalBalance: 'CREDIT', meaning: 'owed to a seller, not yet payable (order not delivered)' },
  seller_available: {
    type: 'LIABILITY',
    normalBalance: 'CREDIT',
    meaning: 'owed to a seller and payable; a debit balance is owed by the seller, recovered from later sales',
  },
};

const SELLER_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

export function isValidSellerId(sellerId: string): boolean {
  return typeof sellerId === 'string' && SELLER_ID_PATTERN.test(sellerId);
}

function sellerAccount(prefix: SellerAccountPrefix, sellerId: string): AccountCode {
  if (!isValidSellerId(sellerId)) ruleFailure('INVALID_SELLER_ID', `invalid seller id ${JSON.stringify(String(sellerId).slice(0, 64))}`, 'sellerId');
  return `${prefix}:${sellerId}`;
}

export const pspReceivable = (): AccountCode => 'psp_receivable';
export const payoutsInTransit = (): AccountCode => 'payouts_in_transit';
export const platformFeeRevenue = (): AccountCode => 'platform_fee_revenue';
export const pspFeeExpense = (): AccountCode => 'psp_fee_expense';
export const chargebackLossExpense = (): AccountCode => 'chargeback_loss_expense';
export const refundsClearing = (): AccountCode => 'refunds_clearing';
export const disputesClearing = (): AccountCode => 'disputes_clearing';
export const fxClearing = (): AccountCode => 'fx_clearing';
export const fxGainLoss = (): AccountCode => 'fx_gain_loss';
export const sellerPending = (sellerId: string): AccountCode => sellerAccount('seller_pending', sellerId);
export const sellerAvailable = (sellerId: string): AccountCode => sellerAccount('seller_available', sellerId);

/** The definition of a code, or undefined when the code is not in the chart of accounts. */
export function describeAccount(code: string): AccountDefinition | undefined {
  if (Object.prototype.hasOwnProperty.call(SYSTEM_ACCOUNTS, code)) {
    const spec = SYSTEM_ACCOUNTS[code as SystemAccountCode];
    return { code: code as AccountCode, type: spec.type, normalBalance: spec.normalBalance };
  }
  const separatorIndex = code.indexOf(':');
  if (separatorIndex < 0) return undefined;
  const prefix = code.slice(0, separatorIndex);
  const sellerId = code.slice(separatorIndex + 1);
  if (prefix !== 'seller_pending' && prefix !== 'seller_available') return undefined;
  if (!isValidSellerId(sellerId)) return undefined;
  const spec = SELLER_ACCOUNTS[prefix];
  return { code: code as AccountCode, type: spec.type, normalBalance: spec.normalBalance };
}

export function isKnownAccountCode(code: string): code is AccountCode {
  return describeAccount(code) !== undefined;
}

/** The seller id of a seller account code, or undefined for a system account. */
export function sellerIdOf(code: AccountCode): string | undefined {
  const separatorIndex = code.indexOf(':');
  return separatorIndex < 0 ? undefined : code.slice(separatorIndex + 1);
}
