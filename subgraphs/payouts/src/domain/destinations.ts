// Where a seller's payouts go: PAYOUT_DESTINATIONS maps sellers to a PSP destination and,
// optionally, the destination's currency ("s1=ba_123,s2=ba_456:USD"); any other seller gets
// `ba_<sellerId>` in its balance currency. The simulator fails payouts to destinations ending in
// a magic suffix (`_fail_closed`, `_fail_invalid`, ...), so a seller id with that suffix (e.g.
// `seller9_fail_closed`) makes its payouts fail there: tests use that.

export interface Destination {
  readonly destination: string;
  /** null: the payout is sent in the balance currency. */
  readonly currency: string | null;
}

export type DestinationTable = ReadonlyMap<string, Destination>;

const ENTRIES_MAX = 10_000;

export function parseDestinations(text: string): DestinationTable {
  const table = new Map<string, Destination>();
  const items = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length > ENTRIES_MAX) throw new Error(`at most ${ENTRIES_MAX} payout destinations`);
  for (const item of items) {
    const match = /^([A-Za-z0-9_-]{1,64})=([A-Za-z0-9_-]{1,200})(?::([A-Z]{3}))?$/.exec(item);
    if (!match?.[1] || !match[2]) throw new Error(`invalid payout destination ${JSON.stringify(item)}: expected sellerId=destination[:CUR]`);
    table.set(match[1], { destination: match[2], currency: match[3] ?? null });
  }
  return table;
}

export function destinationFor(table: DestinationTable, sellerId: string): Destination {
  return table.get(sellerId) ?? { destination: `ba_${sellerId}`, currency: null };
}
