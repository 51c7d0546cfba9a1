import { z } from 'zod';
import {
  EnvError,
  commonEnvShape,
  databaseUrl,
  envBigInt,
  envBoolean,
  envDurationMs,
  envPort,
  envUrl,
  eventsExchangeName,
  loadEnv,
  messagingRetentionEnvShape,
  parseEnv,
} from './index.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as EnvError).issues;
  }
  throw new Error('expected an EnvError');
}

describe('commonEnvShape', () => {
  it('has development defaults', () => {
    expect(parseEnv(commonEnvShape, {})).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      POSTGRES_URL: 'postgresql://postgres@127.0.0.1:5432',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
      DATABASE_PREFIX: 'clearhouse',
      BROKER_PREFIX: 'clearhouse',
      INTERNAL_SIGNING_SECRET: 'dev-internal-signing-secret-change-me',
    });
  });

  it('treats empty strings as unset', () => {
    expect(parseEnv(commonEnvShape, { LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('reports every problem at once, naming each variable', () => {
    const issues = problemsOf(() =>
      parseEnv(commonEnvShape, {
        NODE_ENV: 'staging',
        LOG_LEVEL: 'loud',
        POSTGRES_URL: 'not a url',
        AMQP_URL: 'http://broker',
        DATABASE_PREFIX: 'Bad-Prefix',
        BROKER_PREFIX: '9x',
        INTERNAL_SIGNING_SECRET: 'short',
      }),
    );
    const names = issues.map((issue) => issue.split(':')[0]);
    expect(names.sort()).toEqual(
      ['AMQP_URL', 'BROKER_PREFIX', 'DATABASE_PREFIX', 'INTERNAL_SIGNING_SECRET', 'LOG_LEVEL', 'NODE_ENV', 'POSTGRES_URL'].sort(),
    );
    // secrets are never echoed back
    expect(issues.join('\n')).not.toContain('short');
  });

  it('rejects a POSTGRES_URL that names a database', () => {
    const issues = problemsOf(() => parseEnv(commonEnvShape, { POSTGRES_URL: 'postgresql://u@h:5432/db' }));
    expect(issues).toEqual([expect.stringMatching(/^POSTGRES_URL: .*without a database name/)]);
  });

  it('requires INTERNAL_SIGNING_SECRET in production', () => {
    expect(problemsOf(() => parseEnv(commonEnvShape, { NODE_ENV: 'production' }))).toEqual([
      'INTERNAL_SIGNING_SECRET: is required when NODE_ENV=production',
    ]);
    expect(
      problemsOf(() =>
        parseEnv(commonEnvShape, { NODE_ENV: 'production', INTERNAL_SIGNING_SECRET: 'dev-internal-signing-secret-change-me' }),
      ),
    ).toEqual(['INTERNAL_SIGNING_SECRET: must not be the development default when NODE_ENV=production']);
    const env = parseEnv(commonEnvShape, { NODE_ENV: 'production', INTERNAL_SIGNING_SECRET: 'a-real-production-secret' });
    expect(env.INTERNAL_SIGNING_SECRET).toBe('a-real-production-secret');
  });

  it('reports the production problem together with the others', () => {
    const issues = problemsOf(() => parseEnv(commonEnvShape, { NODE_ENV: 'production', LOG_LEVEL: 'loud' }));
    expect(issues).toHaveLength(2);
  });

  it('builds database URLs and exchange names', () => {
    expect(databaseUrl('postgresql://postgres@127.0.0.1:5432', 'clearhouse', 'payments')).toBe(
      'postgresql://postgres@127.0.0.1:5432/clearhouse_payments',
    );
    expect(databaseUrl('postgresql://postgres:pw@db:5432?sslmode=disable', 'clearhouse_test_wallet')).toBe(
      'postgresql://postgres:pw@db:5432/clearhouse_test_wallet?sslmode=disable',
    );
    expect(() => databaseUrl('postgresql://db:5432', 'Bad Name')).toThrow();
    expect(eventsExchangeName('clearhouse')).toBe('clearhouse.events');
  });
});

describe('messagingRetentionEnvShape', () => {
  it('keeps published outbox rows 7 days and inbox rows 30 days by default, and refuses less than 1 hour and 7 days', () => {
    expect(parseEnv(messagingRetentionEnvShape, {})).toEqual({ OUTBOX_RETENTION_MS: 7 * 24 * 3_600_000, INBOX_RETENTION_MS: 30 * 24 * 3_600_000 });
    expect(parseEnv(messagingRetentionEnvShape, { OUTBOX_RETENTION_MS: '2h', INBOX_RETENTION_MS: '240h' })).toEqual({ OUTBOX_RETENTION_MS: 2 * 3_600_000, INBOX_RETENTION_MS: 10 * 24 * 3_600_000 });
    const problems = problemsOf(() => parseEnv(messagingRetentionEnvShape, { OUTBOX_RETENTION_MS: '30m', INBOX_RETENTION_MS: '24h' }));
    expect(problems.some((problem) => problem.includes('OUTBOX_RETENTION_MS'))).toBe(true);
    expect(problems.some((problem) => problem.includes('INBOX_RETENTION_MS'))).toBe(true);
  });
});

describe('field helpers', () => {
  const shape = {
    PORT: envPort(4001),
    TIMEOUT_MS: envDurationMs(5000),
    ENABLED: envBoolean(false),
    PSP_URL: envUrl('http://127.0.0.1:12111', { protocols: ['http:', 'https:'] }),
    LIMIT_MINOR: envBigInt(100n, { min: 0n }),
    REQUIRED_NAME: z.string().min(1),
  };

  it('applies defaults in output types and parses strings', () => {
    expect(parseEnv(shape, { REQUIRED_NAME: 'x' })).toEqual({
      PORT: 4001,
      TIMEOUT_MS: 5000,
      ENABLED: false,
      PSP_URL: 'http://127.0.0.1:12111',
      LIMIT_MINOR: 100n,
      REQUIRED_NAME: 'x',
    });
    expect(
      parseEnv(shape, {
        PORT: '8080',
        TIMEOUT_MS: '30s',
        ENABLED: 'TRUE',
        PSP_URL: 'https://psp.example',
        LIMIT_MINOR: '99999999999999999999',
        REQUIRED_NAME: 'x',
      }),
    ).toMatchObject({ PORT: 8080, TIMEOUT_MS: 30_000, ENABLED: true, LIMIT_MINOR: 99999999999999999999n });
    expect(parseEnv(shape, { TIMEOUT_MS: '250ms', REQUIRED_NAME: 'x' }).TIMEOUT_MS).toBe(250);
    expect(parseEnv(shape, { TIMEOUT_MS: '2m', REQUIRED_NAME: 'x' }).TIMEOUT_MS).toBe(120_000);
  });

  it('rejects bad values, all at once', () => {
    const issues = problemsOf(() =>
      parseEnv(shape, {
        PORT: '70000',
        TIMEOUT_MS: '5 s',
        ENABLED: 'maybe',
        PSP_URL: 'ftp://x',
        LIMIT_MINOR: '-1',
      }),
    );
    expect(issues.map((issue) => issue.split(':')[0]).sort()).toEqual(
      ['ENABLED', 'LIMIT_MINOR', 'PORT', 'PSP_URL', 'REQUIRED_NAME', 'TIMEOUT_MS'].sort(),
    );
    expect(issues).toContain('REQUIRED_NAME: is required but not set');
  });

  it('rejects non-integer ports', () => {
    expect(problemsOf(() => parseEnv({ PORT: envPort(1) }, { PORT: '80.5' }))).toHaveLength(1);
    expect(problemsOf(() => parseEnv({ PORT: envPort(1) }, { PORT: '0' }))).toHaveLength(1);
  });
});

describe('loadEnv', () => {
  it('prints every problem and exits 1', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => loadEnv(commonEnvShape, { LOG_LEVEL: 'loud', NODE_ENV: 'x' })).toThrow('exit 1');
      const printed = write.mock.calls.map((call) => String(call[0])).join('');
      expect(printed).toContain('LOG_LEVEL');
      expect(printed).toContain('NODE_ENV');
    } finally {
      exit.mockRestore();
      write.mockRestore();
    }
  });

  it('returns the parsed env when valid', () => {
    expect(loadEnv(commonEnvShape, {}).NODE_ENV).toBe('development');
  });
});
