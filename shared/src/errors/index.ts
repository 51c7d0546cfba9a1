// Errors: typed expected failures (userErrors) and the one mapping at the GraphQL edge.
export {
  DomainError,
  InputValidationError,
  USER_ERROR_CODES,
  isDomainError,
  isUserErrorCode,
  toPayloadErrors,
  userError,
  zodIssuesToUserErrors,
} from './errors.js';
export type { DomainErrorOptions, UserErrorCode, UserErrorPayload } from './errors.js';
