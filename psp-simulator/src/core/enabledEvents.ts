// Which event types the webhook endpoint receives, like a Stripe endpoint's `enabled_events`:
// `*` (all), exact types (`payment_intent.succeeded`) or a trailing wildcard (`payment_intent.*`).
// Events of other types are still created and listed by /v1/events; they are only not sent.
// Only the shape of a pattern is checked, not whether the simulator ever emits that type: a
// receiver may list types the simulator does not (yet) produce, as it would with Stripe.

/** Lower-case words of letters, digits and underscores joined by dots, optionally ending `.*`. */
const patternShape = /^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/;
const patternsMax = 1000;
const patternLengthMax = 200;

export const allEventTypes = '*';

/** Splits a comma-separated list (PSP_WEBHOOK_EVENTS) into trimmed entries, empty ones kept. */
export function splitEventTypeList(list: string): string[] {
  return list.split(',').map((entry) => entry.trim());
}

/** Every problem with a list of patterns, each naming the entry; empty when the list is valid. */
export function eventTypePatternProblems(patterns: readonly string[]): string[] {
  const nothingListed = patterns.length === 0 || (patterns.length === 1 && patterns[0]?.trim() === '');
  if (nothingListed) return ['is empty: must list at least one event type, or * for all'];
  if (patterns.length > patternsMax) return [`at most ${patternsMax} event types`];
  const problems: string[] = [];
  patterns.forEach((pattern, index) => {
    if (pattern === allEventTypes) return;
    if (pattern.trim() === '') problems.push(`entry ${index + 1} is empty (a stray comma?)`);
    else if (pattern.length > patternLengthMax) problems.push(`entry ${index + 1} is longer than ${patternLengthMax} characters`);
    else if (!patternShape.test(pattern)) {
      problems.push(
        `${JSON.stringify(pattern)} is not an event type: expected * (all), a type such as payment_intent.succeeded ` +
          '(lower-case letters, digits and _ joined by dots) or a trailing wildcard such as payment_intent.*',
      );
    }
  });
  return problems;
}

/**
 * Stripe's event-type patterns, as webhook endpoints and the `/v1/events` type filter take them:
 * `*` (every type), an exact type, or a trailing wildcard (`payment_intent.*`).
 */
export function eventTypeMatches(pattern: string, type: string): boolean {
  if (pattern === allEventTypes) return true;
  if (!pattern.endsWith('*')) return type === pattern;
  const prefix = pattern.slice(0, -1);
  return type.length > prefix.length && type.startsWith(prefix);
}

/** A validated set of patterns; `matches` decides whether an event of a type is sent (eventTypeMatches, with the exact types in a set). */
export class EnabledEventTypes {
  private readonly all: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly wildcards: readonly string[];

  constructor(readonly patterns: readonly string[]) {
    const problems = eventTypePatternProblems(patterns);
    if (problems.length > 0) throw new Error(`invalid webhook event types: ${problems.join('; ')}`);
    this.all = patterns.includes(allEventTypes);
    this.exact = new Set(patterns.filter((pattern) => !pattern.endsWith('*')));
    this.wildcards = patterns.filter((pattern) => pattern !== allEventTypes && pattern.endsWith('.*'));
  }

  static all(): EnabledEventTypes {
    return new EnabledEventTypes([allEventTypes]);
  }

  matches(type: string): boolean {
    if (this.all || this.exact.has(type)) return true;
    return this.wildcards.some((pattern) => eventTypeMatches(pattern, type));
  }
}
