// UTC days: validation and the [start, end) instants of a day.
import type { UtcDay } from './types.js';

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** [start, end) of a real calendar day, or undefined for "2026-02-30", "2026-1-1", ... */
export function utcDayRange(day: string): { start: Date; end: Date } | undefined {
  const match = DAY_PATTERN.exec(day);
  if (!match) return undefined;
  const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const startMs = Date.UTC(year, month - 1, date);
  const check = new Date(startMs);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return undefined;
  return { start: new Date(startMs), end: new Date(startMs + DAY_MS) };
}

export function isUtcDay(day: string): boolean {
  return utcDayRange(day) !== undefined;
}

export function utcDayOf(at: Date): UtcDay {
  return at.toISOString().slice(0, 10);
}

/** The UTC day before the one containing `now` (the nightly run reconciles yesterday). */
export function previousUtcDay(now: Date): UtcDay {
  return utcDayOf(new Date(now.getTime() - DAY_MS));
}
