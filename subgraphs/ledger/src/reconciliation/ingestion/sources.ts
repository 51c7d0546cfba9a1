// Where one day's PSP lines come from: the settlement CSV (a file path, or the PSP's URL for it)
// or the balance transactions API. Everything is read and validated before anything is stored.
import { readFile } from 'node:fs/promises';
import type Stripe from 'stripe';
import type { PspLine, PspSource, UtcDay } from '../domain/types.js';
import { parseSettlementCsv } from './settlement-csv.js';
import { fetchBalanceTransactions } from './stripe-balance-transactions.js';

export type PspDaySource =
  | { readonly kind: 'csv-file'; readonly path: string }
  | { readonly kind: 'csv-url'; readonly url: string }
  | { readonly kind: 'api'; readonly stripe: Stripe };

export interface PspDayLoader {
  readonly source: PspSource;
  /** Human-readable, for the run report ("csv file /tmp/x.csv", "api"). */
  readonly description: string;
  load(day: UtcDay, onProgress?: (fetched: number) => void): Promise<PspLine[]>;
}

const CSV_BYTES_MAX = 2_000_000_000;
const FETCH_TIMEOUT_MS = 120_000;

async function fetchCsv(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  const text = await response.text();
  if (!response.ok) throw new Error(`settlement file ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

export function pspDayLoader(source: PspDaySource): PspDayLoader {
  switch (source.kind) {
    case 'csv-file':
      return {
        source: 'csv',
        description: `csv file ${source.path}`,
        async load(day) {
          const text = await readFile(source.path, 'utf8');
          if (text.length > CSV_BYTES_MAX) throw new Error(`settlement file ${source.path} is larger than ${CSV_BYTES_MAX} bytes`);
          return parseSettlementCsv(text, day);
        },
      };
    case 'csv-url':
      return {
        source: 'csv',
        description: `csv ${source.url.replace('{date}', 'YYYY-MM-DD')}`,
        async load(day) {
          return parseSettlementCsv(await fetchCsv(source.url.replace('{date}', day)), day);
        },
      };
    case 'api':
      return {
        source: 'api',
        description: 'balance transactions API',
        load: (day, onProgress) => fetchBalanceTransactions(source.stripe, day, onProgress ? { onProgress } : {}),
      };
  }
}
