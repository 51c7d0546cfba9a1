import { randomBytes } from 'node:crypto';
import { databaseExists, dropDatabase, ensureDatabase, withPgClient } from './admin.js';
import { maintenanceUrl } from './naming.js';

const postgresServerUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

describe('ensureDatabase', () => {
  it('creates a missing database once, even with concurrent callers', async () => {
    const name = `clearhouse_test_race_${randomBytes(6).toString('hex')}`;
    try {
      const created = await Promise.all([
        ensureDatabase(postgresServerUrl, name),
        ensureDatabase(postgresServerUrl, name),
        ensureDatabase(postgresServerUrl, name),
      ]);
      expect(created.filter(Boolean)).toHaveLength(1);
      expect(await databaseExists(postgresServerUrl, name)).toBe(true);
      expect(await ensureDatabase(postgresServerUrl, name)).toBe(false);
    } finally {
      await dropDatabase(postgresServerUrl, name);
    }
    expect(await databaseExists(postgresServerUrl, name)).toBe(false);
  });

  it('rejects names that are not plain identifiers', async () => {
    await expect(ensureDatabase(postgresServerUrl, 'x"; DROP DATABASE postgres; --')).rejects.toThrow(/invalid database name/);
    await expect(ensureDatabase(postgresServerUrl, `a${'b'.repeat(63)}`)).rejects.toThrow(/at most 63 bytes/);
  });

  it('reaches the server it is given', async () => {
    const result = await withPgClient(maintenanceUrl(postgresServerUrl), (client) => client.query('SELECT 1 AS one'));
    expect(result.rows).toEqual([{ one: 1 }]);
  });
});
