// Write-through with batching: every change is queued, and a request waits for flush()
// before it answers, so what a client was told is on disk. Changes queued while a batch is
// being written go into the next batch; one batch is written at a time (order is preserved),
// as one statement (a very large one as chunks in one transaction): no N+1.
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { tables, type Row, type TableName } from './db.js';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

type Pending = Map<TableName, Map<string, Row | null>>;

interface TableChanges {
  readonly table: TableName;
  readonly upserts: Row[];
  readonly deletes: string[];
}

const chunkRows = 2_000;
const writeAttemptsMax = 3;
const writeRetryDelayMs = 100;

function emptyPending(): Pending {
  return new Map(tables.map((table) => [table, new Map<string, Row | null>()]));
}

export class WriteBehind {
  private pending: Pending = emptyPending();
  private pendingCount = 0;
  private nextBatch: Deferred | null = null;
  private currentBatch: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  upsert(table: TableName, row: Row): void {
    this.pending.get(table)?.set(row.id, row);
    this.pendingCount++;
  }

  delete(table: TableName, id: string): void {
    this.pending.get(table)?.set(id, null);
    this.pendingCount++;
  }

  /** Resolves once every change queued before this call is committed. */
  flush(): Promise<void> {
    if (this.pendingCount === 0) return this.currentBatch ?? Promise.resolve();
    this.nextBatch ??= deferred();
    const promise = this.nextBatch.promise;
    if (!this.currentBatch) this.startBatch();
    return promise;
  }

  private startBatch(): void {
    const batch = this.pending;
    const done = this.nextBatch ?? deferred();
    this.pending = emptyPending();
    this.pendingCount = 0;
    this.nextBatch = null;
    this.currentBatch = this.writeWithRetry(batch).then(done.resolve, (error: unknown) => {
      this.logger.error({ err: error }, 'psp simulator: state write failed');
      done.reject(error);
    });
    void this.currentBatch.finally(() => {
      this.currentBatch = null;
      if (this.pendingCount > 0) this.startBatch();
    });
  }

  private async writeWithRetry(batch: Pending): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.write(batch);
        return;
      } catch (error) {
        if (attempt >= writeAttemptsMax) throw error;
        await new Promise((resolve) => setTimeout(resolve, writeRetryDelayMs * attempt));
      }
    }
  }

  private async write(batch: Pending): Promise<void> {
    const changes = [...batch].map(([table, rows]) => {
      const upserts: Row[] = [];
      const deletes: string[] = [];
      for (const [id, row] of rows) {
        if (row) upserts.push(row);
        else deletes.push(id);
      }
      return { table, upserts, deletes };
    });
    if (changes.every((change) => change.upserts.length <= chunkRows)) return this.writeOneStatement(changes);
    return this.writeInTransaction(changes);
  }

  /**
   * A batch of ordinary size is one statement, atomic on its own (no BEGIN/COMMIT round trips):
   * a data-modifying CTE per table, each table's rows as one JSON array (in their queued order,
   * which keeps the creation order `seq` records).
   */
  private async writeOneStatement(changes: readonly TableChanges[]): Promise<void> {
    const ctes: string[] = [];
    const params: unknown[] = [];
    const shape: string[] = [];
    for (const { table, upserts, deletes } of changes) {
      if (upserts.length > 0 || deletes.length > 0) shape.push(`${table}_${upserts.length > 0 ? 'u' : ''}${deletes.length > 0 ? 'd' : ''}`);
      if (upserts.length > 0) {
        params.push(JSON.stringify(upserts.map((row) => ({ id: row.id, type: row.type, created: row.created, data: row.data }))));
        ctes.push(
          `upsert_${table} AS (INSERT INTO ${table} (id, type, created, data)
             SELECT e.doc->>'id', e.doc->>'type', (e.doc->>'created')::bigint, e.doc->'data'
               FROM jsonb_array_elements($${params.length}::jsonb) WITH ORDINALITY AS e(doc, n)
              ORDER BY e.n
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data)`,
        );
      }
      if (deletes.length > 0) {
        params.push(deletes);
        ctes.push(`delete_${table} AS (DELETE FROM ${table} WHERE id = ANY($${params.length}::text[]))`);
      }
    }
    if (ctes.length === 0) return;
    // Named: each connection parses and plans each shape once, not on every flush (its text
    // depends only on which tables have upserts and deletes, so a name stands for one text).
    await this.pool.query({ name: `write_behind_${shape.join('_')}`, text: `WITH ${ctes.join(',\n')} SELECT 1`, values: params });
  }

  /** A batch too big for one statement: chunks of rows in one transaction. */
  private async writeInTransaction(changes: readonly TableChanges[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const { table, upserts, deletes } of changes) {
        for (let start = 0; start < upserts.length; start += chunkRows) {
          const chunk = upserts.slice(start, start + chunkRows);
          await client.query(
            `INSERT INTO ${table} (id, type, created, data)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::jsonb[])
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data`,
            [chunk.map((r) => r.id), chunk.map((r) => r.type), chunk.map((r) => r.created), chunk.map((r) => JSON.stringify(r.data))],
          );
        }
        if (deletes.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1::text[])`, [deletes]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
