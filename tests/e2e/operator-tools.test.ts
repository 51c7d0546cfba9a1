// The operators' commands (README "Operators"): `npm run dlq`, `npm run reconcile`, `npm run audit`,
// run as an operator runs them (scripts/run-tool.mjs) against their own databases
// (`clearhouse_test_tools_<hex>_*`) and broker prefix, so nothing here touches the platform the
// rest of the suite talks to. Bad input must be refused with a clear message and a non-zero exit,
// and change nothing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { NonRetryableError, consumerQueueName, createOutboxRelay, deadLetterQueueName, defineConsumer, newEvent, queueDepth, startConsumers, type RunningConsumers } from '@clearhouse/shared';
import { startHarness, waitFor, type Harness } from '../../shared/src/messaging/test-harness';

import { dropAllDatabases, prepareAllDatabases } from '../../scripts/lib/databases';
import { REPO_ROOT } from '../../scripts/lib/platform';

jest.setTimeout(180_000);

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function tool(name: 'dlq' | 'reconcile' | 'audit', args: readonly string[], env: Record<string, string>): Promise<ToolRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts/run-tool.mjs'), name, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_OPTIONS: '', ...env },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run dlq', () => {
  let h: Harness;
  let consumers: RunningConsumers;
  let broken = true;
  let dlq: string;
  let queue: string;
  const events = [1, 2].map((i) => newEvent('payment.succeeded', 1, `pay_tools_${i}`, { i }));
  const dlqTool = (...args: string[]) => tool('dlq', args, { BROKER_PREFIX: h.prefix, AMQP_URL: h.broker.amqpUrl });

  beforeAll(async () => {
    h = await startHarness();
    queue = consumerQueueName(h.prefix, 'tool-probe');
    dlq = deadLetterQueueName(queue);
    consumers = await startConsumers({
      connection: h.broker.connection,
      db: h.db,
      prefix: h.prefix,
      logger: h.logger,
      retryTiersMs: [100],
      consumers: [
        defineConsumer({
          name: 'tool-probe',
          routingKeys: ['payment.succeeded'],
          async handle(event, tx) {
            if (broken) throw new NonRetryableError('seller unknown');
            await h.recordEffect(tx, 'tool-probe', event.messageId);
          },
        }),
      ],
    });
    for (const event of events) await h.commitEvent(event);
    const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
    await relay.runOnce();
    await relay.stop();
    await waitFor('both parked', async () => (await queueDepth(h.broker.connection, dlq)) === 2);
  });

  afterAll(async () => {
    await consumers?.stop();
    await h?.close();
  });

  it.each([
    ['replay --all with --queue but no name', ['replay', '--all', '--queue'], /--queue needs a name/],
    ['replay with --queue but no name', ['replay', 'some-id', '--queue'], /--queue needs a name/],
    ['list with --queue but no name', ['list', '--queue'], /--queue needs a name/],
    ['list with --limit but no number', ['list', '--limit'], /--limit/],
    ['replay with an option as the queue name', ['replay', '--all', '--queue', '--limit', '5'], /--queue needs a name/],
    ['list with a stray argument', ['list', 'extra'], /unexpected argument extra/],
    ['show with --all', ['show', '--all'], /--all/],
  ])('refuses %s with exit 2 and a usage message, and moves nothing', async (_what, args, message) => {
    const run = await dlqTool(...args);
    expect(run.stdout).not.toContain('replayed');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('usage:');
    expect(run.code).toBe(2);
    expect(await queueDepth(h.broker.connection, dlq)).toBe(2);
    expect(await h.effectCount()).toBe(0);
  });

  it('replay of an unknown message id says so, exits 1 and moves nothing', async () => {
    const run = await dlqTool('replay', 'no-such-message');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no dead letter no-such-message in ${dlq}`);
    expect(await queueDepth(h.broker.connection, dlq)).toBe(2);
  });

  it('lists, shows and replays one dead letter by id, finding its queue without --queue', async () => {
    const [first, second] = events as [(typeof events)[0], (typeof events)[0]];
    const listing = await dlqTool('list');
    expect(listing.code).toBe(0);
    expect(listing.stdout).toContain(`${dlq}: 2 messages`);
    for (const event of events) expect(listing.stdout).toContain(event.messageId);
    expect(listing.stdout).toContain('seller unknown');

    const shown = await dlqTool('show', second.messageId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`message     ${second.messageId}`);
    expect(shown.stdout).toContain(`queue       ${queue}`);
    expect(shown.stdout).toContain('"pay_tools_2"');
    expect(await queueDepth(h.broker.connection, dlq)).toBe(2);

    broken = false;
    const replayed = await dlqTool('replay', first.messageId);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(`replayed ${first.messageId} -> ${queue}`);
    expect(replayed.stdout).toContain('1 message replayed');
    await waitFor('the replayed message handled', async () => (await h.effectCount(first.messageId)) === 1);
    expect(await queueDepth(h.broker.connection, dlq)).toBe(1);
    expect(await h.effectCount(second.messageId)).toBe(0);
  });
});

describe('npm run reconcile and npm run audit', () => {
  const DAY = '2001-01-01';
  const prefix = `clearhouse_test_tools_${randomBytes(4).toString('hex')}`;
  const env = { POSTGRES_URL, DATABASE_PREFIX: prefix, LOG_LEVEL: 'warn' };
  let workDir: string;
  let ledger: Client;
  let wallet: Client;
  // A charge the ledger does not know (its PSP fee gets booked; the charge is MISSING_IN_LEDGER)
  // and a payout the ledger does not know (MISSING_IN_LEDGER).
  const csv = [
    'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description',
    `txn_tools_1,${DAY}T10:00:00Z,2001-01-03T00:00:00Z,usd,10.00,0.59,9.41,charge,ch_tools_1,pi_tools_1,charge`,
    `txn_tools_2,${DAY}T11:00:00Z,2001-01-03T00:00:00Z,usd,-5.00,0.00,-5.00,payout,po_tools_2,,payout`,
    '',
  ].join('\n');

  const reconcile = (...args: string[]) => tool('reconcile', args, env);
  const runsOfTools = async () => (await ledger.query(`SELECT date, source, status, attempts, line_count, matched_count, report FROM reconciliation_runs ORDER BY date`)).rows;
  const books = async () => ({
    transactions: (await ledger.query(`SELECT kind, reference FROM journal_transactions ORDER BY reference`)).rows,
    discrepancies: (await ledger.query(`SELECT id, date, kind, status, psp_reference FROM discrepancies ORDER BY psp_reference`)).rows,
  });

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'clearhouse-tools-'));
    writeFileSync(join(workDir, 'day.csv'), csv);
    writeFileSync(join(workDir, 'malformed.csv'), 'not,a,settlement,file\n1,2,3,4\n');
    await prepareAllDatabases(env, () => undefined);
    ledger = new Client({ connectionString: `${POSTGRES_URL}/${prefix}_ledger` });
    wallet = new Client({ connectionString: `${POSTGRES_URL}/${prefix}_wallet` });
    await Promise.all([ledger.connect(), wallet.connect()]);
  });

  afterAll(async () => {
    await Promise.allSettled([ledger?.end(), wallet?.end()]);
    await dropAllDatabases(env);
    rmSync(workDir, { recursive: true, force: true });
  });

  it('runs a day twice with the same outcome and books nothing twice', async () => {
    const first = await reconcile('--date', DAY, '--file', join(workDir, 'day.csv'), '--no-replay');
    expect(first.stdout).toContain('Automatic fixes in this attempt: 1');
    expect(first.stdout).toContain(`Discrepancies of ${DAY}: 2 (2 open)`);
    expect(first.code).toBe(1);
    const afterFirst = await books();
    expect(afterFirst.transactions).toEqual([{ kind: 'psp_fee_booked', reference: 'psp_fee_booked:txn_tools_1' }]);
    expect(afterFirst.discrepancies.map((row) => `${row.kind} ${row.psp_reference} ${row.status}`)).toEqual(['MISSING_IN_LEDGER pi_tools_1 OPEN', 'MISSING_IN_LEDGER po_tools_2 OPEN']);

    const second = await reconcile('--date', DAY, '--file', join(workDir, 'day.csv'), '--no-replay');
    expect(second.stdout).toContain('Automatic fixes in this attempt: 0');
    expect(second.stdout).toContain(`Discrepancies of ${DAY}: 2 (2 open)`);
    expect(second.code).toBe(1);
    expect(await books()).toEqual(afterFirst);
    expect(await runsOfTools()).toEqual([expect.objectContaining({ date: DAY, source: 'csv', status: 'COMPLETED', attempts: 2, line_count: 2 })]);
  });

  it('reads a relative --file from the directory npm run was started in', async () => {
    // npm runs scripts from the project root; the operator named the file relative to where they were.
    const runsBefore = await runsOfTools();
    const run = await new Promise<ToolRun>((resolve) => {
      execFile('npm', ['--prefix', REPO_ROOT, 'run', '-s', 'reconcile', '--', '--date', DAY, '--file', 'day.csv', '--no-replay'], { cwd: workDir, env: { ...process.env, NODE_OPTIONS: '', ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(run.stderr).not.toContain('no such file');
    expect(run.stdout).toContain(`Discrepancies of ${DAY}: 2 (2 open)`);
    expect(run.code).toBe(1);
    expect(await runsOfTools()).toEqual([expect.objectContaining({ status: 'COMPLETED', attempts: (runsBefore[0] as { attempts: number }).attempts + 1 })]);
  });

  it.each([
    ['a settlement file that does not exist', () => ['--date', DAY, '--file', join(workDir, 'typo.csv')], /no such file/],
    ['a malformed settlement file', () => ['--date', DAY, '--file', join(workDir, 'malformed.csv')], /settlement file line 1/],
    ['an impossible date', () => ['--date', '2001-02-30', '--file', join(workDir, 'day.csv')], /date must be a UTC day YYYY-MM-DD/],
    ['a date in the future', () => ['--date', '2999-01-01', '--source', 'api'], /in the future/],
    ['--date without a value', () => ['--date', '--no-replay'], /--date needs a value/],
    ['an unknown source', () => ['--date', DAY, '--source', 'ftp'], /--source is csv or api/],
  ])('refuses %s with exit 2 and leaves the recorded runs and the books as they were', async (_what, args, message) => {
    const [runsBefore, booksBefore] = [await runsOfTools(), await books()];
    const run = await reconcile(...args());
    expect(`${run.stdout}${run.stderr}`).toMatch(message);
    expect(run.code).toBe(2);
    expect(await runsOfTools()).toEqual(runsBefore);
    expect(await books()).toEqual(booksBefore);
  });

  it('audit exits 0 on these books, and 1 when a wallet differs from the ledger or the entries do not balance', async () => {
    const clean = await tool('audit', [], env);
    expect(clean.stdout).toContain('audit: OK');
    expect(clean.code).toBe(0);

    // A wallet with money the ledger does not know about.
    await wallet.query(`INSERT INTO wallet_balances (seller_id, currency, pending_minor, available_minor, reserved_minor, version) VALUES ('tools_ghost', 'USD', 0, 125, 0, 1)`);
    const ghost = await tool('audit', [], env);
    expect(ghost.stdout).toContain('wallet tools_ghost USD: availableMinor wallet 125 != ledger 0');
    expect(ghost.stdout).toContain('audit: FAILED');
    expect(ghost.code).toBe(1);
    await wallet.query(`DELETE FROM wallet_balances WHERE seller_id = 'tools_ghost'`);
    expect((await tool('audit', [], env)).code).toBe(0);

    // An entry slipped past the database's own guards (replication role: triggers off), as a
    // restore gone wrong would: the books no longer balance.
    await ledger.query('BEGIN');
    await ledger.query(`SET LOCAL session_replication_role = replica`);
    await ledger.query(
      `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount_minor, currency, effective_at, posted_at)
       SELECT gen_random_uuid(), transaction_id, account_id, 'DEBIT', 7, currency, effective_at, posted_at FROM ledger_entries WHERE direction = 'DEBIT' LIMIT 1`,
    );
    await ledger.query('COMMIT');
    const unbalanced = await tool('audit', [], env);
    expect(unbalanced.stdout).toContain('trial balance USD: entries debit 66 != credit 59');
    expect(unbalanced.stdout).toContain('audit: FAILED');
    expect(unbalanced.code).toBe(1);
  });
});
