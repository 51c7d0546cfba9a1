// The one logger factory: JSON lines on stdout (or a given stream), each carrying the service
// name and, inside withCorrelationId, the correlation id; secrets censored and PANs masked.
import pino from 'pino';
import { invariant } from '../invariant.js';
import { currentCorrelationId } from './correlation.js';
import { REDACTED, REDACT_PATHS, maskCardNumbers, sanitizeLogValue } from './redact.js';

export type Logger = pino.Logger;

export interface CreateLoggerOptions {
  service: string;
  level?: string;
  destination?: NodeJS.WritableStream;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function maskArgument(argument: unknown): unknown {
  return typeof argument === 'string' ? maskCardNumbers(argument) : argument;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? 'info';
  invariant(typeof options.service === 'string' && options.service.length > 0, 'createLogger: service is required');
  invariant(LEVELS.has(level), `createLogger: unknown level ${level}`);

  const pinoOptions: pino.LoggerOptions = {
    level,
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const correlationId = currentCorrelationId();
      return correlationId === undefined ? {} : { correlationId };
    },
    // sanitizeLogValue (formatters.log) already serialized and masked every Error with pino's
    // err serializer; running it again on that plain copy would lose the error's type.
    serializers: { err: (value: unknown) => value },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => sanitizeLogValue(object) as Record<string, unknown>,
    },
    hooks: {
      // The message and its printf arguments are masked here; objects go through formatters.log.
      logMethod(args, method) {
        const masked = args.map(maskArgument) as Parameters<typeof method>;
        const [first] = masked;
        // pino takes the message from an Error (or { err }) when none is given: supply a masked one.
        if (masked.length === 1 && first instanceof Error) {
          return method.apply(this, [first, maskCardNumbers(first.message)]);
        }
        if (masked.length === 1 && typeof first === 'object' && first !== null) {
          const err = (first as { err?: unknown; msg?: unknown }).err;
          if (err instanceof Error && (first as { msg?: unknown }).msg === undefined) {
            return method.apply(this, [first, maskCardNumbers(err.message)] as Parameters<typeof method>);
          }
        }
        return method.apply(this, masked);
      },
    },
  };

  const logger =
    options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination as pino.DestinationStream);
  sanitizeChildBindings(logger);
  return logger;
}

// Child bindings are serialized once, at child() time, without formatters.log (pino resets the
// bindings formatter for children), so they are sanitized here. Children are created with
// Object.create(parent), so grandchildren inherit this wrapper.
function sanitizeChildBindings(logger: Logger): void {
  const originalChild = logger.child as unknown as (this: Logger, bindings: pino.Bindings, childOptions?: unknown) => Logger;
  const sanitizingChild = function (this: Logger, bindings: pino.Bindings, childOptions?: unknown): Logger {
    return originalChild.call(this, sanitizeLogValue(bindings) as pino.Bindings, childOptions);
  };
  logger.child = sanitizingChild as unknown as Logger['child'];
}
