// The only reader of process.env: parses everything once, reports every problem at once.
import { z } from 'zod';
import { allEventTypes, eventTypePatternProblems, splitEventTypeList } from './core/enabledEvents.js';

const integer = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** Comma-separated event types the webhook endpoint receives (Stripe's enabled_events). */
const eventTypeList = z
  .string()
  .default(allEventTypes)
  .transform(splitEventTypeList)
  .superRefine((patterns, context) => {
    for (const message of eventTypePatternProblems(patterns)) context.addIssue({ code: 'custom', message });
  });

const schema = z.object({
  PSP_PORT: integer(4010),
  PSP_HOST: z.string().default('0.0.0.0'),
  PSP_PUBLIC_URL: z.url().default('http://localhost:4010'),
  PSP_WEBHOOK_URL: z.url().default('http://localhost:4001/webhooks/stripe'),
  PSP_WEBHOOK_EVENTS: eventTypeList,
  STRIPE_WEBHOOK_SECRET: z.string().min(1).default('whsec_dev'),
  PSP_DATABASE_URL: z.string().startsWith('postgres').default('postgresql://postgres@127.0.0.1:5432/clearhouse_psp'),
  PSP_FEE_PERCENT_BPS: integer(290),
  PSP_FEE_FIXED_MINOR: integer(30),
  PSP_PAYOUT_DELAY_MS: integer(200),
  PSP_DISPUTE_DELAY_MS: integer(500),
  PSP_REFUND_DELAY_MS: integer(50),
  PSP_PROCESSING_DELAY_MS: integer(1000),
  PSP_AVAILABLE_DAYS: integer(2),
  PSP_WEBHOOK_RETRY_BASE_MS: integer(500),
  PSP_WEBHOOK_MAX_ATTEMPTS: integer(8),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

/** Parses without exiting: the environment, or every problem as `VARIABLE: message`. */
export function parseEnv(source: NodeJS.ProcessEnv): { env: Env; problems?: never } | { env?: never; problems: string[] } {
  const parsed = schema.safeParse(source);
  if (parsed.success) return { env: parsed.data };
  return { problems: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) };
}

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const { env, problems } = parseEnv(source);
  if (env) return env;
  process.stderr.write(`psp-simulator: invalid environment\n${problems.map((problem) => `  ${problem}`).join('\n')}\n`);
  process.exit(1);
}
