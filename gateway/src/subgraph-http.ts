// The gateway's one HTTP client for its subgraphs: an undici Agent that keeps connections alive,
// shaped as the `Fetcher` RemoteGraphQLDataSource calls. Node's global fetch rides on the same
// client but adds the WHATWG Request/Response/web-stream layer, which a profile under load put at
// ~14 % of the gateway's busy time; here the body is read into one string and handed over in a
// minimal response. Redirects are not followed: a subgraph never redirects, and the signed caller
// headers must not travel to another origin.
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Fetcher, FetcherHeaders, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { invariant } from '@clearhouse/shared';
import { Agent } from 'undici';

/** Keep-alive connections per subgraph origin; more concurrent requests wait in undici's queue, under their deadline. */
const CONNECTIONS_PER_ORIGIN_MAX = 128;
/** The same bound Node's fetch puts on establishing a connection. */
const CONNECT_TIMEOUT_MS = 10_000;
/** No subgraph page comes near this; it stops a runaway response from filling the gateway's memory. */
const RESPONSE_BYTES_MAX = 32 * 1024 * 1024;
/** How long close() lets in-flight requests finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;
/** The longest deadline a fetcher may be given (SUBGRAPH_TIMEOUT_MS has the same bound). */
const TIMEOUT_MS_MAX = 3_600_000;

/** A subgraph request that failed before a complete response arrived; `code` is the cause's (ECONNREFUSED, UND_ERR_…). */
export class SubgraphRequestError extends Error {
  override readonly name: string = 'SubgraphRequestError';
  readonly code: string | undefined;

  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code ?? codeOf(options.cause);
  }
}

/** The request's whole deadline passed: waiting for a connection, sending, the headers and the full body. */
export class SubgraphTimeoutError extends SubgraphRequestError {
  override readonly name = 'SubgraphTimeoutError';
}

export interface SubgraphHttpClientOptions {
  readonly connectionsPerOriginMax?: number;
  readonly responseBytesMax?: number;
}

export class SubgraphHttpClient {
  private readonly agent: Agent;
  private closing: Promise<void> | null = null;

  constructor(options: SubgraphHttpClientOptions = {}) {
    const connections = options.connectionsPerOriginMax ?? CONNECTIONS_PER_ORIGIN_MAX;
    const responseBytesMax = options.responseBytesMax ?? RESPONSE_BYTES_MAX;
    invariant(Number.isSafeInteger(connections) && connections >= 1, 'SubgraphHttpClient: connectionsPerOriginMax must be a positive integer');
    invariant(Number.isSafeInteger(responseBytesMax) && responseBytesMax >= 1, 'SubgraphHttpClient: responseBytesMax must be a positive integer');
    // Keep-alive lasts as long as the subgraph's `Keep-Alive: timeout=…` hint allows (less a margin),
    // so a warm connection survives lulls between bursts.
    this.agent = new Agent({ connections, maxResponseSize: responseBytesMax, connect: { timeout: CONNECT_TIMEOUT_MS } });
  }

  /**
   * A Fetcher whose every request must complete (connection, headers and the whole body) within
   * `timeoutMs`; an `init.signal` from the caller can cut it shorter.
   */
  fetcher(timeoutMs: number): Fetcher {
    invariant(Number.isSafeInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= TIMEOUT_MS_MAX, 'SubgraphHttpClient.fetcher: timeoutMs out of bounds');
    return (url, init) => this.send(url, init ?? {}, timeoutMs);
  }

  /** Lets in-flight requests finish (for CLOSE_GRACE_MS at most), then closes every connection. */
  close(): Promise<void> {
    this.closing ??= this.closeWithin(CLOSE_GRACE_MS);
    return this.closing;
  }

  private async closeWithin(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    try {
      const closedCleanly = await Promise.race([this.agent.close().then(() => true, () => false), graceOver]);
      if (!closedCleanly) await this.agent.destroy();
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(url: string, init: FetcherRequestInit, timeoutMs: number): Promise<FetcherResponse> {
    const method = init.method ?? 'GET';
    const deadline = new Deadline();
    const timer = setTimeout(() => deadline.abort(new SubgraphTimeoutError(`${method} ${url}: no complete response within ${timeoutMs} ms`, { code: 'ETIMEDOUT' })), timeoutMs);
    const callerSignal = init.signal as AbortSignal | undefined;
    const onCallerAbort = () => deadline.abort(new SubgraphRequestError(`${method} ${url}: aborted by the caller`, { cause: callerSignal?.reason, code: 'ABORT_ERR' }));
    if (callerSignal?.aborted) onCallerAbort();
    else callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const target = targetOf(url);
      const response = await this.agent.request({
        origin: target.origin,
        path: target.path,
        method,
        headers: init.headers ?? null,
        body: init.body ?? null,
        signal: deadline,
        // undici's own timers back the deadline up (they do not count the wait for a free connection).
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await response.body.text();
      return new BufferedResponse(url, response.statusCode, response.statusText, new ResponseHeaders(response.headers), text);
    } catch (error) {
      if (deadline.reason) throw deadline.reason;
      if (error instanceof SubgraphRequestError) throw error;
      if (isUndiciTimeout(error)) throw new SubgraphTimeoutError(`${method} ${url}: no complete response within ${timeoutMs} ms`, { cause: error, code: 'ETIMEDOUT' });
      throw new SubgraphRequestError(`${method} ${url} failed: ${messageOf(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }
}

// What undici accepts as a request's `signal` besides an AbortSignal: an EventEmitter with
// `aborted` and `reason`. Measured under load, an AbortController per request cost ~25 µs of CPU
// (a third of the whole request); this costs next to nothing.
class Deadline extends EventEmitter {
  aborted = false;
  reason: SubgraphRequestError | undefined = undefined;

  abort(reason: SubgraphRequestError): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

// The data sources call with the same few URLs over and over; parsing each once saves a URL
// parse per request. Bounded: past the limit a URL is parsed every time.
const PARSED_URLS_MAX = 64;
const parsedUrls = new Map<string, RequestTarget>();

interface RequestTarget {
  readonly origin: string;
  readonly path: string;
}

function targetOf(url: string): RequestTarget {
  let entry = parsedUrls.get(url);
  if (entry) return entry;
  const parsedUrl = new URL(url);
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw new SubgraphRequestError(`${url}: only http and https are supported`);
  entry = { origin: parsedUrl.origin, path: `${parsedUrl.pathname}${parsedUrl.search}` };
  if (parsedUrls.size < PARSED_URLS_MAX) parsedUrls.set(url, entry);
  return entry;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(messageOf).join('; ');
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isUndiciTimeout(error: unknown): boolean {
  const code = codeOf(error);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

type HeaderRecord = Record<string, string | string[] | undefined>;

/** The response headers undici parsed (names already lower case), behind the Fetch API's Headers methods. */
export class ResponseHeaders implements FetcherHeaders {
  constructor(private readonly record: HeaderRecord) {}

  get(name: string): string | null {
    const value = this.record[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.record[name.toLowerCase()] !== undefined;
  }

  set(name: string, value: string): void {
    this.record[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.record[key];
    if (existing === undefined) this.record[key] = value;
    else this.record[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }

  delete(name: string): void {
    delete this.record[name.toLowerCase()];
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.record).sort()) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  copy(): ResponseHeaders {
    const record: HeaderRecord = {};
    for (const [name, value] of Object.entries(this.record)) record[name] = Array.isArray(value) ? [...value] : value;
    return new ResponseHeaders(record);
  }
}

/** A response whose body has already been read; like fetch's, the body can be consumed once. */
class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  private used = false;

  constructor(
    readonly url: string,
    readonly status: number,
    private readonly reason: string | undefined,
    readonly headers: ResponseHeaders,
    private readonly bodyText: string,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  get statusText(): string {
    return this.reason ?? STATUS_CODES[this.status] ?? '';
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  async text(): Promise<string> {
    return this.consume();
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.consume());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(this.consume(), 'utf8');
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  clone(): FetcherResponse {
    if (this.used) throw new TypeError('Response.clone: the body has already been read');
    return new BufferedResponse(this.url, this.status, this.reason, this.headers.copy(), this.bodyText);
  }

  private consume(): string {
    if (this.used) throw new TypeError('Body is unusable: the body has already been read');
    this.used = true;
    return this.bodyText;
  }
}
