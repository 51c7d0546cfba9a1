// The bench's verdict on "≥200 settled payments/s sustained for 60 s" (scripts/bench/stats.ts):
// the average over the window is not enough, every second after the first two (the pipeline
// filling) but the last must reach 200 too, and the verdict says which seconds did not.
import { sustainedVerdict } from '../../scripts/bench/stats';

const steady = (n: number, seconds: number): number[] => Array.from({ length: seconds }, () => n);

describe('sustainedVerdict', () => {
  test('passes when every counted second reaches the target, whatever the first two and the last', () => {
    const perSecond = [12, 150, ...steady(210, 58), 40];
    expect(sustainedVerdict(perSecond, 205, 61_000)).toEqual({ passed: true, detail: '205.0/s in a 61 s window; every one of 58 counted seconds at ≥200' });
  });

  test('fails on an average of 200 when some seconds fall short, and names how many and the slowest', () => {
    const perSecond = [60, 150, 175, ...steady(230, 30), 131, 84, ...steady(230, 25), 200];
    const verdict = sustainedVerdict(perSecond, 202.7, 61_000);
    expect(verdict.passed).toBe(false);
    expect(verdict.detail).toBe('202.7/s in a 61 s window; 3 of 58 counted seconds under 200 (slowest 84)');
  });

  test('fails when the seconds are fine but the average is not (a window padded by the last second)', () => {
    expect(sustainedVerdict([0, 0, ...steady(200, 58), 0], 199.9, 61_000).passed).toBe(false);
  });

  test('gives no verdict on a window shorter than 60 s', () => {
    expect(sustainedVerdict(steady(250, 30), 250, 30_000)).toEqual({ passed: null, detail: '250.0/s in a 30 s window (window shorter than 60 s)' });
  });
});
