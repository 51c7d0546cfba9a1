// In-memory index of every Stripe object (loaded whole on start) with write-through to
// PostgreSQL. Objects are never deleted, so an object's position in its type's list is stable
// and pagination by `starting_after` is a map lookup.
import type { StoredObject } from '../core/types.js';
import type { Row } from './db.js';
import type { WriteBehind } from './writeBehind.js';

export interface ListPage<T> {
  data: T[];
  has_more: boolean;
}

export interface ListQuery<T> {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  filter?: (object: T) => boolean;
}

const scanMax = 10_000_000;

export class Store {
  private readonly objects = new Map<string, StoredObject>();
  private readonly byType = new Map<string, string[]>();
  private readonly positions = new Map<string, number>();

  constructor(private readonly writer: WriteBehind) {}

  load(rows: Row[]): void {
    for (const row of rows) this.index(row.data as StoredObject);
  }

  get<T extends StoredObject>(id: string, object?: string): T | undefined {
    const found = this.objects.get(id);
    if (!found || (object !== undefined && found.object !== object)) return undefined;
    return found as T;
  }

  /** Saves a new or changed object: memory now, database with the next flush. */
  save(object: StoredObject): void {
    if (!this.objects.has(object.id)) this.index(object);
    else this.objects.set(object.id, object);
    this.writer.upsert('objects', { id: object.id, type: object.object, created: object.created, data: object });
  }

  all<T extends StoredObject>(object: string): T[] {
    const ids = this.byType.get(object) ?? [];
    return ids.map((id) => this.objects.get(id) as T);
  }

  /** Newest first, like Stripe's list endpoints. */
  list<T extends StoredObject>(object: string, query: ListQuery<T>): ListPage<T> {
    const ids = this.byType.get(object) ?? [];
    const data: T[] = [];
    if (query.endingBefore !== undefined) return this.listBackwards(ids, query);
    let index = ids.length - 1;
    if (query.startingAfter !== undefined) index = (this.positions.get(query.startingAfter) ?? ids.length) - 1;
    for (let scanned = 0; index >= 0 && scanned < scanMax; index--, scanned++) {
      const candidate = this.objects.get(ids[index] ?? '') as T | undefined;
      if (!candidate || (query.filter && !query.filter(candidate))) continue;
      if (data.length === query.limit) return { data, has_more: true };
      data.push(candidate);
    }
    return { data, has_more: false };
  }

  private listBackwards<T extends StoredObject>(ids: string[], query: ListQuery<T>): ListPage<T> {
    const data: T[] = [];
    let index = (this.positions.get(query.endingBefore ?? '') ?? -1) + 1;
    for (let scanned = 0; index < ids.length && scanned < scanMax; index++, scanned++) {
      const candidate = this.objects.get(ids[index] ?? '') as T | undefined;
      if (!candidate || (query.filter && !query.filter(candidate))) continue;
      if (data.length === query.limit) return { data: data.reverse(), has_more: true };
      data.push(candidate);
    }
    return { data: data.reverse(), has_more: false };
  }

  private index(object: StoredObject): void {
    this.objects.set(object.id, object);
    let ids = this.byType.get(object.object);
    if (!ids) {
      ids = [];
      this.byType.set(object.object, ids);
    }
    this.positions.set(object.id, ids.length);
    ids.push(object.id);
  }
}
