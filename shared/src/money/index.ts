// Money: integer minor units plus ISO 4217 currency; see ARCHITECTURE "Money".
export {
  SUPPORTED_CURRENCIES,
  UnknownCurrencyError,
  currencyExponent,
  isSupportedCurrency,
  maxAmountMinor,
  minorUnitsPerMajor,
  pspAmountStepMinor,
} from './currency.js';
export {
  CurrencyMismatchError,
  SUM_MONEY_ITEMS_MAX,
  addMoney,
  money,
  moneyEquals,
  negateMoney,
  subtractMoney,
  sumMoney,
  zeroMoney,
} from './money.js';
export type { Money } from './money.js';
export { AmountFormatError, formatAmount, parseAmount } from './format.js';
export {
  ALLOCATION_PARTS_MAX,
  BASIS_POINTS_MAX,
  allocateByRatios,
  computeFee,
  percentageOfMinor,
} from './allocate.js';
export type { FeeSchedule, Rounding } from './allocate.js';
