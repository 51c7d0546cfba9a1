import { withPgClient } from '../db/admin.js';
import { createTestDatabase, dropStaleTestDatabases, TEST_DATABASE_PREFIX } from './database.js';

jest.setTimeout(120_000);

describe('createTestDatabase', () => {
  it('gives each caller its own migrated database, and drop() removes it', async () => {
    const [first, second] = await Promise.all([createTestDatabase('payments'), createTestDatabase('payments')]);
    try {
      expect(first.name).toMatch(new RegExp(`^${TEST_DATABASE_PREFIX}payments_[0-9a-f]{12}$`));
      expect(first.name).not.toBe(second.name);
      await withPgClient(first.url, (client) =>
        client.query(`INSERT INTO api_keys (id, key_hash, role) VALUES ('k1', 'hash-1', 'ops')`),
      );
      const counts = await Promise.all(
        [first, second].map((database) =>
          withPgClient(database.url, (client) => client.query<{ n: string }>('SELECT count(*) AS n FROM api_keys')),
        ),
      );
      expect(counts.map((result) => result.rows[0]?.n)).toEqual(['1', '0']);
    } finally {
      await Promise.all([first.drop(), second.drop()]);
    }
    await expect(withPgClient(first.url, (client) => client.query('SELECT 1'))).rejects.toThrow(/does not exist/);
  });

  it('works for every subgraph', async () => {
    for (const subgraph of ['ledger', 'wallet', 'payouts']) {
      const database = await createTestDatabase(subgraph);
      try {
        const result = await withPgClient(database.url, (client) =>
          client.query('SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
        );
        expect(result.rows[0]?.n).toBeGreaterThan(0);
      } finally {
        await database.drop();
      }
    }
  });

  it('leaves recent databases alone when sweeping stale ones', async () => {
    const database = await createTestDatabase('payments');
    try {
      const dropped = await dropStaleTestDatabases({ olderThanMs: 60 * 60_000 });
      expect(dropped).not.toContain(database.name);
    } finally {
      await database.drop();
    }
  });
});
