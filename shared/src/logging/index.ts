// Logging: pino JSON lines with service, correlation id, redaction and PAN masking.
export { createLogger } from './logger.js';
export type { CreateLoggerOptions, Logger } from './logger.js';
export { CORRELATION_ID_LENGTH_MAX, currentCorrelationId, withCorrelationId } from './correlation.js';
export { REDACTED, isSecretKey, maskCardNumbers, sanitizeLogValue } from './redact.js';
