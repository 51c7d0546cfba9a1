// Typed failures of ledger rules. Expected failures (bad input, a rule violated) are returned as
// a LedgerRuleError inside a result; programmer errors throw InvariantError (shared/invariant).

export const LEDGER_RULE_ERROR_CODES = [
  'TOO_FEW_ENTRIES',
  'TOO_MANY_ENTRIES',
  'NON_POSITIVE_AMOUNT',
  'INVALID_AMOUNT',
  'UNBALANCED',
  'UNKNOWN_ACCOUNT',
  'INVALID_SELLER_ID',
  'UNSUPPORTED_CURRENCY',
  'CURRENCY_MISMATCH',
  'INVALID_REFERENCE',
  'INVALID_EFFECTIVE_AT',
  'SPLIT_MISMATCH',
  'INVALID_FX_RATE',
  'FX_DIFFERENCE_TOO_LARGE',
] as const;
export type LedgerRuleErrorCode = (typeof LEDGER_RULE_ERROR_CODES)[number];

export class LedgerRuleError extends Error {
  override readonly name = 'LedgerRuleError';
  readonly code: LedgerRuleErrorCode;
  /** Dotted path of the offending input field, when there is one (e.g. "orders.1.feeMinor"). */
  readonly field: string | undefined;

  constructor(code: LedgerRuleErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

export function ruleFailure(code: LedgerRuleErrorCode, message: string, field?: string): never {
  throw new LedgerRuleError(code, message, field);
}
