// /v1/events: retrieve and list (type, types[], created filters, pagination).
import { eventTypeMatches } from '../core/enabledEvents.js';
import { noSuchObject } from '../core/errors.js';
import type { StripeEvent } from '../core/types.js';
import { listObjects, type Predicate } from '../api/list.js';
import { optionalString, stringList } from '../api/params.js';
import type { ApiCall } from '../api/types.js';

/** Stripe's `type` filter accepts a trailing wildcard: `payment_intent.*`. */
function typeMatcher(pattern: string): Predicate<StripeEvent> {
  return (event) => eventTypeMatches(pattern, event.type);
}

export function listEvents({ sim, params }: ApiCall): object {
  const type = optionalString(params, 'type');
  const types = stringList(params, 'types');
  const anyOf = types.map(typeMatcher);
  return listObjects<StripeEvent>(sim.store, 'event', '/v1/events', params, [
    type === undefined ? undefined : typeMatcher(type),
    anyOf.length === 0 ? undefined : (event) => anyOf.some((match) => match(event)),
  ]);
}

export function retrieveEvent({ sim, pathParams }: ApiCall): object {
  const id = pathParams.id ?? '';
  const event = sim.store.get(id, 'event');
  if (!event) throw noSuchObject('event', id);
  return event;
}
