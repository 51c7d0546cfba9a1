// Environment parsing with zod: every service's env.ts calls loadEnv once at start-up, and it is
// the only reader of process.env. All problems are reported at once so an operator fixes a
// deployment in one round instead of one variable per restart.
import { z } from 'zod';

export class EnvError extends Error {
  override readonly name = 'EnvError';
  readonly issues: string[];

  constructor(issues: string[]) {
    super(`invalid environment (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

export type EnvSource = Record<string, string | undefined>;

// Schemas that must be set explicitly when NODE_ENV=production, mapped to their development
// default (which is also refused in production: a copied dev value is as bad as none).
const productionRequired = new WeakMap<z.ZodType, unknown>();

// Wraps `schema` with a development default that is NOT accepted in production: with
// NODE_ENV=production the variable must be set, and to something other than that default.
export function requireInProduction<S extends z.ZodType>(
  schema: S,
  developmentDefault: z.util.NoUndefined<z.output<S>>,
): z.ZodDefault<S> {
  const wrapped = schema.default(developmentDefault) as z.ZodDefault<S>;
  productionRequired.set(wrapped, developmentDefault);
  return wrapped;
}

// Unset and empty are the same thing for configuration: `FOO=` in a compose file means "not set".
function normalizeSource(source: EnvSource, keys: readonly string[]): Record<string, string | undefined> {
  const normalized: Record<string, string | undefined> = {};
  for (const key of keys) {
    const value = source[key];
    normalized[key] = value === undefined || value === '' ? undefined : value;
  }
  return normalized;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, string | undefined>): string {
  const name = issue.path.length === 0 ? '(environment)' : issue.path.map(String).join('.');
  const topKey = issue.path[0];
  if (issue.code === 'invalid_type' && typeof topKey === 'string' && input[topKey] === undefined) {
    return `${name}: is required but not set`;
  }
  // Messages never include the value: environment variables carry secrets.
  return `${name}: ${issue.message}`;
}

export function parseEnv<S extends z.ZodRawShape>(
  shape: S,
  source: EnvSource = process.env,
): z.infer<z.ZodObject<S>> {
  const keys = Object.keys(shape);
  const input = normalizeSource(source, keys);
  const problems: string[] = [];

  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(describeIssue(issue, input));
  }

  const nodeEnv = source['NODE_ENV'];
  if (nodeEnv === 'production') {
    for (const key of keys) {
      const schema = shape[key] as z.ZodType | undefined;
      if (schema === undefined || !productionRequired.has(schema)) continue;
      const value = input[key];
      if (value === undefined) {
        problems.push(`${key}: is required when NODE_ENV=production`);
      } else if (value === String(productionRequired.get(schema))) {
        problems.push(`${key}: must not be the development default when NODE_ENV=production`);
      }
    }
  }

  if (problems.length > 0 || !result.success) {
    throw new EnvError(problems);
  }
  return result.data as z.infer<z.ZodObject<S>>;
}

// parseEnv for a composition root: on failure prints every problem to stderr and exits 1,
// because a service with a broken configuration must not start half-way.
export function loadEnv<S extends z.ZodRawShape>(
  shape: S,
  source: EnvSource = process.env,
): z.infer<z.ZodObject<S>> {
  try {
    return parseEnv(shape, source);
  } catch (error) {
    if (error instanceof EnvError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
