import type { StoredObject } from '../core/types.js';
import { Store } from './store.js';
import type { WriteBehind } from './writeBehind.js';

const writes: string[] = [];
const fakeWriter = { upsert: (_table: string, row: { id: string }) => writes.push(row.id) } as unknown as WriteBehind;

function object(id: string, created: number): StoredObject {
  return { id, object: 'thing', created };
}

describe('in-memory store', () => {
  const store = new Store(fakeWriter);
  for (let index = 1; index <= 7; index++) store.save(object(`t_${index}`, 1000 + index));

  it('writes every save through', () => {
    expect(writes).toHaveLength(7);
  });

  it('lists newest first and pages with starting_after / ending_before', () => {
    const first = store.list('thing', { limit: 3 });
    expect(first.data.map((item) => item.id)).toEqual(['t_7', 't_6', 't_5']);
    expect(first.has_more).toBe(true);
    const second = store.list('thing', { limit: 3, startingAfter: 't_5' });
    expect(second.data.map((item) => item.id)).toEqual(['t_4', 't_3', 't_2']);
    const last = store.list('thing', { limit: 3, startingAfter: 't_2' });
    expect(last).toEqual({ data: [object('t_1', 1001)], has_more: false });
    const back = store.list('thing', { limit: 2, endingBefore: 't_4' });
    expect(back.data.map((item) => item.id)).toEqual(['t_6', 't_5']);
    expect(back.has_more).toBe(true);
  });

  it('filters while paging', () => {
    const even = store.list('thing', { limit: 10, filter: (item) => item.created % 2 === 0 });
    expect(even.data.map((item) => item.id)).toEqual(['t_6', 't_4', 't_2']);
  });

  it('updates in place without moving the object', () => {
    store.save({ ...object('t_3', 1003), note: 'changed' });
    expect(store.get('t_3')?.note).toBe('changed');
    expect(store.list('thing', { limit: 10 }).data.map((item) => item.id)).toEqual(['t_7', 't_6', 't_5', 't_4', 't_3', 't_2', 't_1']);
  });
});
