// Stripe list endpoints: limit (1..100, default 10), starting_after / ending_before cursors,
// `created` filters (created[gte]=..., or an exact created=...). Newest first.
import type { StoredObject } from '../core/types.js';
import { invalidRequest } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { optionalInteger, optionalObject, optionalString, type Params } from './params.js';

export interface ListResponse {
  object: 'list';
  url: string;
  has_more: boolean;
  data: StoredObject[];
}

export type Predicate<T> = (object: T) => boolean;

export function createdFilter(params: Params, field = 'created'): Predicate<StoredObject> | undefined {
  const exact = params[field];
  if (typeof exact === 'string' && exact !== '') {
    const at = optionalInteger(params, field, 0, Number.MAX_SAFE_INTEGER);
    return (object) => object.created === at;
  }
  const range = optionalObject(params, field);
  if (!range) return undefined;
  const bound = (name: string) => optionalInteger(range, name, 0, Number.MAX_SAFE_INTEGER);
  const gte = bound('gte');
  const gt = bound('gt');
  const lte = bound('lte');
  const lt = bound('lt');
  return (object) =>
    (gte === undefined || object.created >= gte) &&
    (gt === undefined || object.created > gt) &&
    (lte === undefined || object.created <= lte) &&
    (lt === undefined || object.created < lt);
}

export function listObjects<T extends StoredObject>(
  store: Store,
  objectType: string,
  url: string,
  params: Params,
  predicates: (Predicate<T> | undefined)[],
): ListResponse {
  const limit = optionalInteger(params, 'limit', 1, 100) ?? 10;
  const startingAfter = optionalString(params, 'starting_after');
  const endingBefore = optionalString(params, 'ending_before');
  for (const cursor of [startingAfter, endingBefore]) {
    if (cursor !== undefined && !store.get(cursor, objectType)) throw invalidRequest(`No such ${objectType}: '${cursor}'`, 'starting_after', 'resource_missing');
  }
  const active = [...predicates, createdFilter(params) as Predicate<T> | undefined].filter((p): p is Predicate<T> => p !== undefined);
  const page = store.list<T>(objectType, {
    limit,
    startingAfter,
    endingBefore,
    filter: active.length === 0 ? undefined : (object) => active.every((predicate) => predicate(object)),
  });
  return { object: 'list', url, has_more: page.has_more, data: page.data };
}

/** A predicate matching a field to a param when the param is given. */
export function fieldEquals<T extends StoredObject>(params: Params, name: string, field: string = name): Predicate<T> | undefined {
  const value = optionalString(params, name);
  if (value === undefined) return undefined;
  return (object) => object[field] === value;
}
