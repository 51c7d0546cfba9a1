// The bench's latency accounting (scripts/bench/stats.ts, load.ts): every response is kept with
// the moment its request was sent, so a phase's latency can be split into the step from the
// previous rate and the rest, and followed second by second. That is how the seventh session
// found that the createCheckout tail at 100/s was the first seconds of a phase.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad } from '../../scripts/bench/load';
import { latencyTimeline, splitAtStep, type LatencySample } from '../../scripts/bench/stats';

describe('latency by when requests were sent', () => {
  const samples: LatencySample[] = [
    [10, 150],
    [900, 20],
    [1_999, 500],
    [2_000, 30],
    [2_500, 101],
    [4_200, 40],
  ];

  test('the timeline groups responses by the second their request was sent and counts the slow ones; empty seconds are left out', () => {
    expect(latencyTimeline(samples, 1_000, 100)).toEqual([
      { fromMs: 0, count: 2, p50: 20, max: 150, slow: 1 },
      { fromMs: 1_000, count: 1, p50: 500, max: 500, slow: 1 },
      { fromMs: 2_000, count: 2, p50: 30, max: 101, slow: 1 },
      { fromMs: 4_000, count: 1, p50: 40, max: 40, slow: 0 },
    ]);
  });

  test('the split puts a request in the step by when it was sent, however long it took', () => {
    const split = splitAtStep(samples, 2_000, 100);
    expect(split.first).toMatchObject({ count: 3, max: 500, p50: 150, slow: 2 });
    expect(split.rest).toMatchObject({ count: 3, max: 101, p50: 40, slow: 1 });
  });
});

describe('runLoad against a server that is slow only at first', () => {
  let server: Server;
  let startedAt = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        if (startedAt === 0) startedAt = Date.now();
        // The first second answers after 150 ms, later ones at once.
        const delay = Date.now() - startedAt < 1_000 ? 150 : 0;
        setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'), delay);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('the slow start shows in the step and in the first second of the timeline, not after', async () => {
    const result = await runLoad({
      label: 'test load',
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      headers: {},
      rate: 40,
      connections: 4,
      durationSec: 4,
      body: () => '{}',
      classify: (status) => (status === 200 ? null : `status ${status}`),
    });
    expect(result.errorRate).toBe(0);
    expect(result.step.ms).toBe(2_000);
    expect(result.step.first.count + result.step.rest.count).toBe(result.completed);
    expect(result.step.first.slow).toBeGreaterThan(0);
    expect(result.step.first.p99).toBeGreaterThanOrEqual(150);
    expect(result.step.rest.slow).toBe(0);
    expect(result.timeline.reduce((n, bucket) => n + bucket.count, 0)).toBe(result.completed);
    expect(result.timeline[0]!.slow).toBeGreaterThan(0);
    expect(result.timeline.filter((bucket) => bucket.fromMs >= 2_000).every((bucket) => bucket.slow === 0)).toBe(true);
    expect(result.timeline.length).toBeGreaterThanOrEqual(4);
  });
});
