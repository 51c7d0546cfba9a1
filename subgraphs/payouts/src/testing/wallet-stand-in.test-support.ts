// TEST STAND-IN for the wallet's internal routes (see clients/wallet.ts for the contract), until
// the wallet subgraph serves them. It runs over a real, migrated wallet test database
// (createTestDatabase('wallet')) and reserves exactly as the wallet schema prescribes: in one
// transaction, the balance row locked (FOR UPDATE), `available_minor >= amount` checked, the
// amount moved from available to reserved and a `held` wallet_reservations row written (its
// primary key, the payout id, makes a repeated reservation of a held one a replay; a released one
// is refused with RESERVATION_RELEASED, as the wallet does). Not modelled: the
// wallet_movements history and the consumers of payout.paid/failed.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPgAdapter, maxAmountMinor, verifyCaller, type SqlClient } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export interface WalletStandIn {
  url: string;
  db: PrismaClient;
  seed(sellerId: string, currency: string, availableMinor: bigint): Promise<void>;
  balance(sellerId: string, currency: string): Promise<{ availableMinor: bigint; reservedMinor: bigint }>;
  stop(): Promise<void>;
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Answer = { status: number; json: unknown };

async function reserve(db: PrismaClient, body: Record<string, unknown>): Promise<Answer> {
  const payoutId = String(body.payoutId);
  const sellerId = String(body.sellerId);
  const currency = String(body.currency);
  const requestedMinor = body.amountMinor === null ? null : BigInt(String(body.amountMinor));
  const minMinor = BigInt(String(body.minAmountMinor ?? '1'));
  return db.$transaction(async (tx: SqlClient) => {
    const existing = await tx.$queryRawUnsafe<{ amount_minor: bigint; status: string }[]>(`SELECT amount_minor, status FROM wallet_reservations WHERE id = $1 FOR UPDATE`, payoutId);
    if (existing[0]?.status === 'held') return { status: 200, json: { payoutId, amountMinor: String(existing[0].amount_minor), replayed: true } };
    if (existing[0]) return { status: 409, json: { code: 'RESERVATION_RELEASED', payoutId } };
    const rows = await tx.$queryRawUnsafe<{ available_minor: bigint }[]>(
      `SELECT available_minor FROM wallet_balances WHERE seller_id = $1 AND currency = $2 FOR UPDATE`,
      sellerId,
      currency,
    );
    const availableMinor = rows[0] ? BigInt(rows[0].available_minor) : 0n;
    const cap = maxAmountMinor(currency);
    const amountMinor = requestedMinor ?? (availableMinor > cap ? cap : availableMinor);
    const enough = requestedMinor === null ? availableMinor >= (minMinor > 1n ? minMinor : 1n) : availableMinor >= requestedMinor;
    if (!enough || amountMinor <= 0n) return { status: 409, json: { code: 'INSUFFICIENT_FUNDS', availableMinor: availableMinor.toString() } };
    await tx.$executeRawUnsafe(
      `UPDATE wallet_balances SET available_minor = available_minor - $3::bigint, reserved_minor = reserved_minor + $3::bigint,
         version = version + 1, updated_at = now() WHERE seller_id = $1 AND currency = $2`,
      sellerId,
      currency,
      amountMinor.toString(),
    );
    await tx.$executeRawUnsafe(
      `INSERT INTO wallet_reservations (id, seller_id, currency, amount_minor, status) VALUES ($1, $2, $3, $4::bigint, 'held')`,
      payoutId,
      sellerId,
      currency,
      amountMinor.toString(),
    );
    return { status: 200, json: { payoutId, amountMinor: amountMinor.toString(), replayed: false } };
  });
}

async function release(db: PrismaClient, body: Record<string, unknown>): Promise<Answer> {
  const payoutId = String(body.payoutId);
  return db.$transaction(async (tx: SqlClient) => {
    const rows = await tx.$queryRawUnsafe<{ seller_id: string; currency: string; amount_minor: bigint }[]>(
      `UPDATE wallet_reservations SET status = 'released', settled_at = now() WHERE id = $1 AND status = 'held' RETURNING seller_id, currency, amount_minor`,
      payoutId,
    );
    const row = rows[0];
    if (!row) return { status: 200, json: { released: false } };
    await tx.$executeRawUnsafe(
      `UPDATE wallet_balances SET available_minor = available_minor + $3::bigint, reserved_minor = reserved_minor - $3::bigint WHERE seller_id = $1 AND currency = $2`,
      row.seller_id,
      row.currency,
      String(row.amount_minor),
    );
    return { status: 200, json: { released: true } };
  });
}

async function balances(db: PrismaClient, query: URLSearchParams): Promise<Answer> {
  const minMinor = BigInt(query.get('minAvailableMinor') ?? '1');
  const limit = Math.min(Number(query.get('limit') ?? '100'), 1000);
  const after = query.get('after');
  const [afterSeller, afterCurrency] = after ? (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as [string, string]) : ['', ''];
  const rows = await db.$queryRawUnsafe<{ seller_id: string; currency: string; available_minor: bigint }[]>(
    `SELECT seller_id, currency, available_minor FROM wallet_balances
      WHERE available_minor >= $1::bigint AND (seller_id, currency) > ($2, $3)
      ORDER BY seller_id, currency LIMIT $4`,
    minMinor.toString(),
    afterSeller,
    afterCurrency,
    limit,
  );
  const last = rows[rows.length - 1];
  return {
    status: 200,
    json: {
      balances: rows.map((row) => ({ sellerId: row.seller_id, currency: row.currency, availableMinor: String(row.available_minor) })),
      nextCursor: rows.length === limit && last ? Buffer.from(JSON.stringify([last.seller_id, last.currency])).toString('base64url') : null,
    },
  };
}

export async function startWalletStandIn(databaseUrl: string, signingSecret: string): Promise<WalletStandIn> {
  const db = new PrismaClient({ adapter: createPgAdapter(databaseUrl, { poolMax: 10 }) });
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const caller = verifyCaller(request.headers, signingSecret);
      let answer: Answer;
      if (!caller || caller.role !== 'system') answer = { status: 401, json: { error: 'signed system caller required' } };
      else if (request.method === 'POST' && url.pathname === '/internal/reservations') answer = await reserve(db, JSON.parse(await readAll(request)) as Record<string, unknown>);
      else if (request.method === 'POST' && url.pathname === '/internal/reservations/release') answer = await release(db, JSON.parse(await readAll(request)) as Record<string, unknown>);
      else if (request.method === 'GET' && url.pathname === '/internal/balances') answer = await balances(db, url.searchParams);
      else answer = { status: 404, json: { error: 'not found' } };
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.json));
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    db,
    async seed(sellerId, currency, availableMinor) {
      await db.$executeRawUnsafe(
        `INSERT INTO wallet_balances (seller_id, currency, available_minor) VALUES ($1, $2, $3::bigint)
         ON CONFLICT (seller_id, currency) DO UPDATE SET available_minor = EXCLUDED.available_minor`,
        sellerId,
        currency,
        availableMinor.toString(),
      );
    },
    async balance(sellerId, currency) {
      const rows = await db.$queryRawUnsafe<{ available_minor: bigint; reserved_minor: bigint }[]>(
        `SELECT available_minor, reserved_minor FROM wallet_balances WHERE seller_id = $1 AND currency = $2`,
        sellerId,
        currency,
      );
      return { availableMinor: BigInt(rows[0]?.available_minor ?? 0), reservedMinor: BigInt(rows[0]?.reserved_minor ?? 0) };
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await db.$disconnect();
    },
  };
}

export function newSellerId(label: string): string {
  return `${label}_${randomUUID().slice(0, 8)}`;
}
