// Splitting an amount into parts: ratio allocation and percentages. Every function states its
// rounding, and allocations always add up to the whole: no minor unit is created or lost.
import { invariant } from '../invariant.js';

// A split into more parts than this is a bug (a basket has far fewer sellers).
export const ALLOCATION_PARTS_MAX = 10_000;

const BASIS_POINTS_PER_WHOLE = 10_000n;

// Largest-remainder (Hamilton) method: each part gets floor(total * ratio / sum); the minor
// units left over go one each to the parts with the largest remainders, ties to the earlier
// index, so the result is deterministic. Each part is within 1 of its exact share and a zero
// ratio always gets zero. Negative totals are split as -(split of |total|), i.e. symmetrically.
export function allocateByRatios(totalMinor: bigint, ratios: readonly bigint[]): bigint[] {
  invariant(typeof totalMinor === 'bigint', 'allocateByRatios: totalMinor must be a bigint');
  invariant(ratios.length > 0, 'allocateByRatios: at least one ratio is required');
  invariant(ratios.length <= ALLOCATION_PARTS_MAX, `allocateByRatios: more than ${ALLOCATION_PARTS_MAX} ratios`);
  let ratioSum = 0n;
  for (const ratio of ratios) {
    invariant(typeof ratio === 'bigint' && ratio >= 0n, 'allocateByRatios: ratios must be non-negative bigints');
    ratioSum += ratio;
  }
  invariant(ratioSum > 0n, 'allocateByRatios: at least one ratio must be positive');

  if (totalMinor < 0n) {
    return allocateNonNegative(-totalMinor, ratios, ratioSum).map((part) => -part);
  }
  return allocateNonNegative(totalMinor, ratios, ratioSum);
}

function allocateNonNegative(totalMinor: bigint, ratios: readonly bigint[], ratioSum: bigint): bigint[] {
  const parts: bigint[] = [];
  const remainders: bigint[] = [];
  let allocatedMinor = 0n;
  for (const ratio of ratios) {
    const share = totalMinor * ratio;
    const part = share / ratioSum;
    parts.push(part);
    remainders.push(share % ratioSum);
    allocatedMinor += part;
  }
  const leftoverMinor = totalMinor - allocatedMinor;
  // sum(remainders) = leftover * ratioSum and each remainder < ratioSum, so leftover < parts.
  invariant(leftoverMinor >= 0n && leftoverMinor < BigInt(parts.length), 'allocateByRatios: leftover out of range');

  const order = parts.map((_, index) => index);
  order.sort((a, b) => {
    const ra = remainders[a] ?? 0n;
    const rb = remainders[b] ?? 0n;
    if (ra !== rb) return ra > rb ? -1 : 1;
    return a - b;
  });
  for (let rank = 0; rank < Number(leftoverMinor); rank += 1) {
    const index = order[rank];
    invariant(index !== undefined, 'allocateByRatios: rank out of range');
    parts[index] = (parts[index] ?? 0n) + 1n;
  }

  let checkMinor = 0n;
  for (const part of parts) checkMinor += part;
  invariant(checkMinor === totalMinor, 'allocateByRatios: parts do not add up to the total');
  return parts;
}

// 'half-up': .5 rounds away from zero (1.5 → 2, -1.5 → -2), the usual commercial rule.
// 'down': truncates toward zero (1.9 → 1, -1.9 → -1).
export type Rounding = 'half-up' | 'down';

// Percentages beyond this are a unit mistake (bps vs percent), not a business rule.
export const BASIS_POINTS_MAX = 1_000_000n;

// amountMinor * basisPoints / 10_000 rounded as named; 290n basis points = 2.90%.
export function percentageOfMinor(amountMinor: bigint, basisPoints: bigint, rounding: Rounding): bigint {
  invariant(typeof amountMinor === 'bigint', 'percentageOfMinor: amountMinor must be a bigint');
  invariant(typeof basisPoints === 'bigint', 'percentageOfMinor: basisPoints must be a bigint');
  invariant(basisPoints >= 0n && basisPoints <= BASIS_POINTS_MAX, 'percentageOfMinor: basisPoints out of range');
  const negative = amountMinor < 0n;
  const product = (negative ? -amountMinor : amountMinor) * basisPoints;
  let resultMinor = product / BASIS_POINTS_PER_WHOLE;
  const remainder = product % BASIS_POINTS_PER_WHOLE;
  switch (rounding) {
    case 'half-up':
      if (remainder * 2n >= BASIS_POINTS_PER_WHOLE) resultMinor += 1n;
      break;
    case 'down':
      break;
    default:
      invariant(false, `percentageOfMinor: unknown rounding ${String(rounding)}`);
  }
  return negative ? -resultMinor : resultMinor;
}

export interface FeeSchedule {
  readonly percentBps: bigint;
  readonly fixedMinor: bigint;
}

// Platform fee: percentage rounded half-up plus the fixed part, capped at the amount so a fee
// can never exceed what was paid (a tiny order pays at most its whole amount, never goes
// negative for the seller).
export function computeFee(amountMinor: bigint, schedule: FeeSchedule): bigint {
  invariant(typeof amountMinor === 'bigint' && amountMinor >= 0n, 'computeFee: amountMinor must be a non-negative bigint');
  invariant(typeof schedule.fixedMinor === 'bigint' && schedule.fixedMinor >= 0n, 'computeFee: fixedMinor must be >= 0');
  const percentMinor = percentageOfMinor(amountMinor, schedule.percentBps, 'half-up');
  const uncappedMinor = percentMinor + schedule.fixedMinor;
  const feeMinor = uncappedMinor > amountMinor ? amountMinor : uncappedMinor;
  invariant(feeMinor >= 0n && feeMinor <= amountMinor, 'computeFee: fee out of [0, amount]');
  return feeMinor;
}
