import { createLogger } from '@clearhouse/shared';
import { callPsp } from './executor.js';
import { PspError } from './port.js';

const logger = createLogger({ service: 'test', level: 'silent' });
const policy = { attemptsMax: 3, timeoutMs: 50, backoffMsBase: 1, backoffMsMax: 2 };

describe('callPsp', () => {
  test('retries retryable failures, then succeeds', async () => {
    let calls = 0;
    const result = await callPsp({ operation: 'op', policy, logger }, async () => {
      calls += 1;
      if (calls < 3) throw new PspError('server', 'boom', 500, null);
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  test('stops at attemptsMax and throws the last error; tells the hook about each failure', async () => {
    const seen: number[] = [];
    await expect(
      callPsp({ operation: 'op', policy, logger, onAttemptFailed: async (_e, attempt) => void seen.push(attempt) }, async () => {
        throw new PspError('connection', 'down', null, null);
      }),
    ).rejects.toMatchObject({ kind: 'connection' });
    expect(seen).toEqual([1, 2, 3]);
  });

  test('does not retry a rejected request', async () => {
    let calls = 0;
    await expect(callPsp({ operation: 'op', policy, logger }, async () => (calls++, Promise.reject(new PspError('rejected', 'no', 400, 'x'))))).rejects.toMatchObject({ kind: 'rejected' });
    expect(calls).toBe(1);
  });

  test('a hanging call times out (backstop)', async () => {
    await expect(callPsp({ operation: 'op', policy: { ...policy, attemptsMax: 1 }, logger }, () => new Promise(() => undefined))).rejects.toMatchObject({ kind: 'timeout' });
  }, 5_000);
});
