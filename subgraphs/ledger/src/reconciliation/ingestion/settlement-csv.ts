// The PSP's daily settlement file (CONTRACT.md "Settlement file"): header
// balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,
// source_id,payment_intent_id,description — amounts in major units per currency exponent,
// currency lower-case, times ISO 8601 UTC. Parsed strictly and completely before anything is
// stored: the first bad field rejects the whole file with its line and column.
import { isSupportedCurrency, parseAmount } from '@clearhouse/shared';
import { utcDayRange } from '../domain/day.js';
import type { PspLine, UtcDay } from '../domain/types.js';

export const SETTLEMENT_COLUMNS = [
  'balance_transaction_id',
  'created_utc',
  'available_on_utc',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'payment_intent_id',
  'description',
] as const;
type Column = (typeof SETTLEMENT_COLUMNS)[number];

/** One PSP day is at most this many lines (1M payments a day plus refunds, payouts, fees...). */
export const SETTLEMENT_LINES_MAX = 5_000_000;
const FIELD_LENGTH_MAX = 1_000;
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,200}$/;
const CATEGORY_PATTERN = /^[a-z][a-z0-9_]{0,49}$/;
const ISO_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
/**
 * What the ledger's bigint (int8) columns hold. A larger amount would parse, be matched and have
 * its day's fees booked, and only then fail the recording transaction: rejected here instead.
 */
const AMOUNT_MINOR_ABS_MAX = 9_223_372_036_854_775_807n;

export class SettlementFileError extends Error {
  override readonly name = 'SettlementFileError';
  constructor(
    /** 1-based physical line of the file (the header is line 1). */
    readonly line: number,
    readonly column: string | null,
    readonly reason: string,
  ) {
    super(`settlement file line ${line}${column === null ? '' : `, column ${column}`}: ${reason}`);
  }
}

interface RawRecord {
  line: number;
  fields: string[];
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. Bounded by the text length. */
function* records(text: string): Generator<RawRecord> {
  let line = 1;
  let position = 0;
  const length = text.length;
  while (position < length) {
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let inQuotes = false;
    let quotedField = false;
    let ended = false;
    while (position < length && !ended) {
      const char = text[position]!;
      if (inQuotes) {
        if (char === '"') {
          if (text[position + 1] === '"') {
            field += '"';
            position += 2;
            continue;
          }
          inQuotes = false;
          position += 1;
          continue;
        }
        if (char === '\n') line += 1;
        field += char;
        position += 1;
        continue;
      }
      if (char === '"') {
        if (field.length > 0 || quotedField) throw new SettlementFileError(line, null, 'a quote inside an unquoted field');
        inQuotes = true;
        quotedField = true;
        position += 1;
      } else if (char === ',') {
        fields.push(field);
        field = '';
        quotedField = false;
        position += 1;
      } else if (char === '\r' || char === '\n') {
        position += char === '\r' && text[position + 1] === '\n' ? 2 : 1;
        line += 1;
        ended = true;
      } else {
        if (quotedField) throw new SettlementFileError(line, null, 'characters after a closing quote');
        field += char;
        position += 1;
      }
      if (field.length > FIELD_LENGTH_MAX) throw new SettlementFileError(startLine, null, `a field longer than ${FIELD_LENGTH_MAX} characters`);
    }
    if (inQuotes) throw new SettlementFileError(startLine, null, 'a quoted field is never closed');
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) yield { line: startLine, fields };
  }
}

function parseInstant(text: string, line: number, column: Column): Date {
  const at = ISO_UTC_PATTERN.test(text) ? new Date(text) : undefined;
  if (at === undefined || Number.isNaN(at.getTime())) throw new SettlementFileError(line, column, `${JSON.stringify(text.slice(0, 40))} is not an ISO 8601 UTC time (2026-05-31T12:00:00Z)`);
  return at;
}

function parseMoney(text: string, currency: string, line: number, column: Column): bigint {
  let amountMinor: bigint;
  try {
    amountMinor = parseAmount(text, currency);
  } catch (error) {
    throw new SettlementFileError(line, column, `${JSON.stringify(text.slice(0, 40))}: ${(error as Error).message}`);
  }
  if (amountMinor > AMOUNT_MINOR_ABS_MAX || amountMinor < -AMOUNT_MINOR_ABS_MAX) {
    throw new SettlementFileError(line, column, `${JSON.stringify(text.slice(0, 40))} is beyond ${AMOUNT_MINOR_ABS_MAX} minor units`);
  }
  return amountMinor;
}

function optionalId(text: string, line: number, column: Column): string | null {
  if (text === '') return null;
  if (!ID_PATTERN.test(text)) throw new SettlementFileError(line, column, `${JSON.stringify(text.slice(0, 40))} is not a PSP id`);
  return text;
}

function parseRecord(record: RawRecord, positions: ReadonlyMap<Column, number>, range: { start: Date; end: Date }, day: UtcDay): PspLine {
  const { line } = record;
  const get = (column: Column): string => record.fields[positions.get(column)!] ?? '';
  const id = get('balance_transaction_id');
  if (!ID_PATTERN.test(id)) throw new SettlementFileError(line, 'balance_transaction_id', `${JSON.stringify(id.slice(0, 40))} is not a balance transaction id`);
  const createdAt = parseInstant(get('created_utc'), line, 'created_utc');
  if (createdAt < range.start || createdAt >= range.end) throw new SettlementFileError(line, 'created_utc', `${get('created_utc')} is not on ${day}`);
  const availableText = get('available_on_utc');
  const availableOn = availableText === '' ? null : parseInstant(availableText, line, 'available_on_utc');
  const currencyText = get('currency');
  const currency = currencyText.toUpperCase();
  if (!/^[A-Za-z]{3}$/.test(currencyText) || !isSupportedCurrency(currency)) throw new SettlementFileError(line, 'currency', `${JSON.stringify(currencyText.slice(0, 10))} is not a supported ISO 4217 currency`);
  const grossMinor = parseMoney(get('gross'), currency, line, 'gross');
  const feeMinor = parseMoney(get('fee'), currency, line, 'fee');
  const netMinor = parseMoney(get('net'), currency, line, 'net');
  if (grossMinor - feeMinor !== netMinor) throw new SettlementFileError(line, 'net', `net ${get('net')} is not gross ${get('gross')} minus fee ${get('fee')}`);
  const category = get('reporting_category');
  if (!CATEGORY_PATTERN.test(category)) throw new SettlementFileError(line, 'reporting_category', `${JSON.stringify(category.slice(0, 40))} is not a reporting category`);
  const description = get('description');
  return {
    balanceTransactionId: id,
    createdAt,
    availableOn,
    currency,
    grossMinor,
    feeMinor,
    netMinor,
    type: category,
    reportingCategory: category,
    sourceId: optionalId(get('source_id'), line, 'source_id'),
    paymentIntentId: optionalId(get('payment_intent_id'), line, 'payment_intent_id'),
    description: description === '' ? null : description,
  };
}

/**
 * Parses one day's settlement file. Throws SettlementFileError (line, column, reason) on the
 * first problem: a wrong header, a field that does not parse, a line of another day, a repeated
 * balance transaction id, or more than linesMax lines.
 */
export function parseSettlementCsv(text: string, day: UtcDay, linesMax: number = SETTLEMENT_LINES_MAX): PspLine[] {
  const range = utcDayRange(day);
  if (range === undefined) throw new Error(`not a UTC day: ${JSON.stringify(day)}`);
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const iterator = records(input);
  const header = iterator.next();
  if (header.done) throw new SettlementFileError(1, null, 'the file is empty (expected a header line)');
  const positions = new Map<Column, number>();
  header.value.fields.forEach((name, position) => {
    const column = name.trim() as Column;
    if (SETTLEMENT_COLUMNS.includes(column)) {
      if (positions.has(column)) throw new SettlementFileError(1, column, 'the column appears twice in the header');
      positions.set(column, position);
    }
  });
  for (const column of SETTLEMENT_COLUMNS) if (!positions.has(column)) throw new SettlementFileError(1, column, 'the header lacks this column');
  const width = header.value.fields.length;
  const lines: PspLine[] = [];
  const seen = new Set<string>();
  for (const record of iterator) {
    if (record.fields.length !== width) throw new SettlementFileError(record.line, null, `${record.fields.length} fields, the header has ${width}`);
    if (lines.length >= linesMax) throw new SettlementFileError(record.line, null, `more than ${linesMax} lines`);
    const parsed = parseRecord(record, positions, range, day);
    if (seen.has(parsed.balanceTransactionId)) throw new SettlementFileError(record.line, 'balance_transaction_id', `${parsed.balanceTransactionId} appears twice`);
    seen.add(parsed.balanceTransactionId);
    lines.push(parsed);
  }
  return lines;
}
