// (b) Full settlement: createCheckout (autocannon, through the gateway) → the buyer pays on the
// simulator's hosted page (form POST) → webhook → SUCCEEDED → payment.succeeded → ledger posting
// → wallet. The end-to-end time is measured from the moment the form POST returned to the
// ledger transaction's own postedAt (server clock, same machine), so how often we poll changes
// nothing but how soon we notice: polling stays one page of succeeded payments a second while the
// load runs, and the rest is read after the load phase.
import { bearer, checkoutBody, gql, httpPost, parseCheckout, type GraphQLResponse } from '../graphql';
import { runLoad, type LoadResult } from '../load';
import type { BenchTarget } from '../platform';
import { progress, say } from '../progress';
import { summarize, type LatencySummary } from '../stats';

export interface SettlementOptions {
  readonly rate: number;
  readonly durationSec: number;
  readonly payConcurrency: number;
  readonly drainTimeoutSec: number;
  readonly card: string;
}

interface Tracked {
  id: string;
  checkoutUrl: string;
  payStatus: number | null;
  payError: string | null;
  paidAt: number | null;
  payLatencyMs: number | null;
  status: string | null;
  postedAt: number | null;
  postings: number;
  orders: { sellerId: string; netMinor: bigint }[] | null;
  walletOk: boolean;
}

export interface SettlementResult {
  readonly checkout: LoadResult;
  readonly created: number;
  readonly paid: number;
  readonly payErrors: Record<string, number>;
  readonly payLatency: LatencySummary;
  readonly succeeded: number;
  readonly posted: number;
  readonly duplicatePostings: number;
  readonly walletChecked: number;
  readonly walletMatched: number;
  readonly loadWindowMs: number;
  /** Ledger postings whose postedAt fell inside the load window, per second. */
  readonly settledPerSecInWindow: number;
  /** All postings / (last postedAt − first pay). */
  readonly settledPerSecOverall: number;
  /** Per-second posting counts inside the window (for the sustained check). */
  readonly perSecond: number[];
  readonly endToEnd: LatencySummary;
  readonly backlogAtLoadEnd: number;
  readonly unsettledAfterDrain: number;
  readonly drainMs: number;
  readonly statuses: Record<string, number>;
}

const BATCH = 25;
const POLL_CONCURRENCY = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Ids travel as variables, so every batch of the same size is one document: the gateway parses,
// validates and plans it once (ids inlined as literals made each poll a new query plan).
const batchQueries = new Map<number, string>();
function batchQuery(size: number): string {
  let query = batchQueries.get(size);
  if (!query) {
    const fields = 'id status ledgerTransactions { postedAt kind } orders { seller { id } netAmount { amountMinor } }';
    const indexes = Array.from({ length: size }, (_, index) => index);
    query = `query SettlementPoll(${indexes.map((index) => `$p${index}: ID!`).join(', ')}) { ${indexes.map((index) => `p${index}: payment(id: $p${index}) { ${fields} }`).join(' ')} }`;
    batchQueries.set(size, query);
  }
  return query;
}

const walletQueries = new Map<number, string>();
function walletQuery(size: number): string {
  let query = walletQueries.get(size);
  if (!query) {
    const indexes = Array.from({ length: size }, (_, index) => index);
    query = `query WalletCheck(${indexes.map((index) => `$s${index}: ID!`).join(', ')}) { ${indexes.map((index) => `s${index}: seller(id: $s${index}) { id balances { currency pending { amountMinor } available { amountMinor } } }`).join(' ')} }`;
    walletQueries.set(size, query);
  }
  return query;
}

function aliased(prefix: string, ids: readonly string[]): Record<string, string> {
  return Object.fromEntries(ids.map((id, index) => [`${prefix}${index}`, id]));
}

type PolledPayment = { id: string; status: string; ledgerTransactions: { postedAt: string; kind: string }[]; orders: { seller: { id: string }; netAmount: { amountMinor: string } }[] } | null;

async function poll(target: BenchTarget, batch: Tracked[]): Promise<number> {
  const response = await gql<Record<string, PolledPayment>>(target.gatewayUrl, batchQuery(batch.length), aliased('p', batch.map((item) => item.id)), bearer(target.opsKey), 30_000);
  if (!response.data) {
    if (response.errors?.length) throw new Error(`poll failed: ${response.errors[0]?.message}`);
    return 0;
  }
  let settled = 0;
  batch.forEach((item, index) => {
    const payment = response.data?.[`p${index}`];
    if (payment && record(item, payment)) settled += 1;
  });
  return settled;
}

// The drain (and the progress sampler) read the succeeded payments a page at a time, as a
// dashboard would: the gateway resolves a page's ledger transactions with one request to the
// ledger (one `_entities` fetch for the page), where `payment(id)` aliases cost one each.
const PAGE = 100;
const SUCCEEDED_PAGE = `query SettlementPage($first: Int!, $after: String) { payments(first: $first, after: $after, status: SUCCEEDED) { edges { node { id status ledgerTransactions { postedAt kind } orders { seller { id } netAmount { amountMinor } } } } pageInfo { hasNextPage endCursor } } }`;

type PaymentsPage = { payments: { edges: { node: NonNullable<PolledPayment> }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

/** Records what a read returned for a tracked payment; true when it is newly seen posted. */
function record(item: Tracked, payment: NonNullable<PolledPayment>): boolean {
  item.status = payment.status;
  item.orders = payment.orders.map((order) => ({ sellerId: order.seller.id, netMinor: BigInt(order.netAmount.amountMinor) }));
  const payin = payment.ledgerTransactions.filter((tx) => !/reversal|refund|dispute|payout|delivery/i.test(tx.kind));
  item.postings = payin.length;
  if (payin.length === 0 || item.postedAt !== null) return false;
  item.postedAt = Math.min(...payin.map((tx) => Date.parse(tx.postedAt)));
  return true;
}

/** Reads succeeded payments newest first, `pages` pages at most; returns how many were newly seen posted. */
async function readSucceeded(target: BenchTarget, byId: ReadonlyMap<string, Tracked>, pages = Number.POSITIVE_INFINITY): Promise<number> {
  let settled = 0;
  let after: string | null = null;
  for (let page = 0; page < pages; page++) {
    const response: GraphQLResponse<PaymentsPage> = await gql<PaymentsPage>(target.gatewayUrl, SUCCEEDED_PAGE, { first: PAGE, after }, bearer(target.opsKey), 30_000);
    if (!response.data) throw new Error(`payments page failed: ${response.errors?.[0]?.message ?? 'no data'}`);
    for (const { node } of response.data.payments.edges) {
      const item = byId.get(node.id);
      if (item && record(item, node)) settled += 1;
    }
    if (!response.data.payments.pageInfo.hasNextPage) break;
    after = response.data.payments.pageInfo.endCursor;
  }
  return settled;
}

async function pollAll(target: BenchTarget, items: Tracked[]): Promise<void> {
  const batches: Tracked[][] = [];
  for (let index = 0; index < items.length; index += BATCH) batches.push(items.slice(index, index + BATCH));
  let cursor = 0;
  await Promise.all(
    Array.from({ length: POLL_CONCURRENCY }, async () => {
      while (cursor < batches.length) {
        const batch = batches[cursor++];
        if (batch) await poll(target, batch);
      }
    }),
  );
}

async function checkWallets(target: BenchTarget, items: Tracked[], timeoutMs: number): Promise<{ checked: number; matched: number }> {
  const expected = new Map<string, bigint>();
  for (const item of items) for (const order of item.orders ?? []) expected.set(order.sellerId, (expected.get(order.sellerId) ?? 0n) + order.netMinor);
  let pending = [...expected.keys()];
  const deadline = Date.now() + timeoutMs;
  while (pending.length > 0 && Date.now() < deadline) {
    const mismatched: string[] = [];
    for (let index = 0; index < pending.length; index += BATCH) {
      const sellers = pending.slice(index, index + BATCH);
      const response = await gql<Record<string, { balances: { currency: string; pending: { amountMinor: string }; available: { amountMinor: string } }[] } | null>>(target.gatewayUrl, walletQuery(sellers.length), aliased('s', sellers), bearer(target.opsKey));
      sellers.forEach((sellerId, i) => {
        const balance = response.data?.[`s${i}`]?.balances.find((entry) => entry.currency === 'USD');
        const total = balance ? BigInt(balance.pending.amountMinor) + BigInt(balance.available.amountMinor) : -1n;
        if (total !== expected.get(sellerId)) mismatched.push(sellerId);
      });
    }
    pending = mismatched;
    if (pending.length > 0) await sleep(1000);
  }
  return { checked: expected.size, matched: expected.size - pending.length };
}

/**
 * `markEnd` is called once every paid payment is posted (or the drain gave up): the CPU charged to
 * the settled payments stops there, before the verification reads (statuses, wallets) that a
 * real installation would not make.
 */
export async function settlement(target: BenchTarget, options: SettlementOptions, markEnd: () => void = () => {}): Promise<SettlementResult> {
  const tracked: Tracked[] = [];
  const byId = new Map<string, Tracked>();
  const payQueue: Tracked[] = [];
  const payErrors: Record<string, number> = {};
  const payLatencies: number[] = [];
  let loadRunning = true;
  let wake: (() => void) | null = null;

  const payWorker = async () => {
    for (;;) {
      const item = payQueue.shift();
      if (!item) {
        if (!loadRunning) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
        continue;
      }
      const body = new URLSearchParams({ card_number: options.card, exp_month: '12', exp_year: '2030', cvc: '123' }).toString();
      const startedAt = Date.now();
      try {
        // undici's request() follows no redirect: the 303 to the success page is the answer.
        const response = await httpPost(item.checkoutUrl, body, { 'content-type': 'application/x-www-form-urlencoded' });
        item.payStatus = response.status;
        if (response.status === 303 || response.status === 302 || response.status === 200) {
          item.paidAt = Date.now();
          item.payLatencyMs = item.paidAt - startedAt;
          payLatencies.push(item.payLatencyMs);
        } else {
          item.payError = `HTTP ${response.status}`;
          payErrors[item.payError] = (payErrors[item.payError] ?? 0) + 1;
        }
      } catch (error) {
        item.payError = error instanceof Error ? error.name : 'error';
        payErrors[item.payError] = (payErrors[item.payError] ?? 0) + 1;
      }
    }
  };
  const workers = Array.from({ length: options.payConcurrency }, payWorker);

  let settledCount = 0;
  const sampler = (async () => {
    // One page of the newest succeeded payments a second: progress only.
    while (loadRunning) {
      await sleep(1000);
      settledCount += await readSucceeded(target, byId, 1).catch(() => 0);
    }
  })();

  const loadStartedAt = Date.now();
  const checkout = await runLoad({
    label: `(b) settlement ${options.rate > 0 ? `${options.rate}/s` : 'max'}`,
    url: target.gatewayUrl,
    headers: bearer(target.platformKey),
    rate: options.rate,
    connections: 32,
    durationSec: options.durationSec,
    body: () => checkoutBody(),
    classify: (status, body) => {
      const outcome = parseCheckout(status, body);
      if (outcome.ok && outcome.paymentId && outcome.checkoutUrl) {
        const item: Tracked = {
          id: outcome.paymentId,
          checkoutUrl: outcome.checkoutUrl,
          payStatus: null,
          payError: null,
          paidAt: null,
          payLatencyMs: null,
          status: null,
          postedAt: null,
          postings: 0,
          orders: null,
          walletOk: false,
        };
        tracked.push(item);
        byId.set(item.id, item);
        payQueue.push(item);
        (wake as (() => void) | null)?.();
      }
      return outcome.error;
    },
    extraDetail: () => `paid ${payLatencies.length}  queue ${payQueue.length}  settled≥${settledCount}`,
  });
  loadRunning = false;
  await Promise.all(workers);
  await sampler;
  const loadEndedAt = Date.now();
  const loadWindowMs = loadEndedAt - loadStartedAt;

  // Drain: read the succeeded payments, a page at a time, until every paid one has its ledger
  // transaction (bounded).
  const paid = tracked.filter((item) => item.paidAt !== null);
  const drainStartedAt = Date.now();
  const bar = progress('(b) draining (ledger)', options.drainTimeoutSec * 1000);
  let backlogAtLoadEnd = -1;
  for (let round = 0; Date.now() - drainStartedAt < options.drainTimeoutSec * 1000; round += 1) {
    const open = paid.filter((item) => item.postedAt === null);
    if (open.length === 0) break;
    await readSucceeded(target, byId);
    const left = paid.filter((item) => item.postedAt === null).length;
    if (round === 0) backlogAtLoadEnd = paid.filter((item) => item.postedAt === null || item.postedAt > loadEndedAt).length;
    bar.update(`unsettled ${left} of ${paid.length}`);
    if (left === 0) break;
    await sleep(500);
  }
  const drainMs = Date.now() - drainStartedAt;
  markEnd();
  bar.done(`unsettled ${paid.filter((item) => item.postedAt === null).length} of ${paid.length} after ${(drainMs / 1000).toFixed(1)} s`);
  if (backlogAtLoadEnd < 0) backlogAtLoadEnd = paid.filter((item) => item.postedAt === null || item.postedAt > loadEndedAt).length;
  // Statuses of the rest (payments never paid keep REQUIRES_PAYMENT).
  await pollAll(target, tracked.filter((item) => item.status !== 'SUCCEEDED'));

  const posted = paid.filter((item) => item.postedAt !== null);
  say(`checking ${posted.length} payments' sellers in the wallet ...`);
  const wallet = await checkWallets(target, posted, 30_000);

  const endToEnd = summarize(posted.map((item) => (item.postedAt as number) - (item.paidAt as number)));
  const inWindow = posted.filter((item) => (item.postedAt as number) <= loadEndedAt).length;
  const firstPay = Math.min(...paid.map((item) => item.paidAt as number));
  const lastPosted = Math.max(...posted.map((item) => item.postedAt as number));
  const perSecond: number[] = [];
  for (let second = 0; second < Math.floor(loadWindowMs / 1000); second += 1) {
    const from = loadStartedAt + second * 1000;
    perSecond.push(posted.filter((item) => (item.postedAt as number) >= from && (item.postedAt as number) < from + 1000).length);
  }
  const statuses: Record<string, number> = {};
  for (const item of tracked) statuses[item.status ?? 'unknown'] = (statuses[item.status ?? 'unknown'] ?? 0) + 1;
  return {
    checkout,
    created: tracked.length,
    paid: paid.length,
    payErrors,
    payLatency: summarize(payLatencies),
    succeeded: tracked.filter((item) => item.status === 'SUCCEEDED').length,
    posted: posted.length,
    duplicatePostings: posted.filter((item) => item.postings > 1).length,
    walletChecked: wallet.checked,
    walletMatched: wallet.matched,
    loadWindowMs,
    settledPerSecInWindow: inWindow / (loadWindowMs / 1000),
    settledPerSecOverall: posted.length > 0 ? posted.length / Math.max(1, (lastPosted - firstPay) / 1000) : 0,
    perSecond,
    endToEnd,
    backlogAtLoadEnd,
    unsettledAfterDrain: paid.length - posted.length,
    drainMs,
    statuses,
  };
}
