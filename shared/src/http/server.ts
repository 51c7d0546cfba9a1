// One small HTTP front for every Clearhouse process: Apollo's documented integration API
// (executeHTTPGraphQLRequest) on node:http, plus health, readiness, metrics and raw routes
// (webhooks need the exact bytes for signature checks, so bodies are read raw here).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Registry } from 'prom-client';
import type { Logger } from '../logging/index.js';

export interface RawRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  handle(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void>;
}

export interface GraphQLEndpoint<TContext extends BaseContext> {
  readonly server: ApolloServer<TContext>;
  readonly path: string;
  /** `body`: the request's raw bytes (empty for GET), which signed caller headers are bound to. */
  context(request: IncomingMessage, body: Buffer): Promise<TContext>;
}

export type ReadinessChecks = () => Promise<Record<string, boolean>>;

export interface HttpServiceOptions<TContext extends BaseContext> {
  readonly service: string;
  readonly port: number;
  readonly host?: string;
  readonly logger: Logger;
  readonly graphql?: GraphQLEndpoint<TContext>;
  readonly routes?: readonly RawRoute[];
  readonly readiness: ReadinessChecks;
  readonly metrics?: Registry;
  readonly bodyBytesMax?: number;
  readonly readinessTimeoutMs?: number;
}

export interface HttpService {
  readonly server: http.Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const BODY_BYTES_MAX_DEFAULT = 1024 * 1024;
const READINESS_TIMEOUT_MS_DEFAULT = 2_000;

export class BodyTooLargeError extends Error {}

export function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > bytesMax) {
        reject(new BodyTooLargeError(`request body larger than ${bytesMax} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function evaluateReadiness(checks: ReadinessChecks, timeoutMs: number): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
  const results = await withTimeout(checks().catch(() => ({ checks: false })), timeoutMs, { timeout: false } as Record<string, boolean>);
  const ready = Object.keys(results).length > 0 && Object.values(results).every(Boolean);
  return { ready, checks: results };
}

async function handleGraphQL<TContext extends BaseContext>(
  endpoint: GraphQLEndpoint<TContext>,
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  url: URL,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  let parsedBody: unknown = undefined;
  if (body.length > 0) {
    const contentType = headers.get('content-type') ?? '';
    if (contentType.includes('application/json')) {
      try {
        parsedBody = JSON.parse(body.toString('utf8'));
      } catch {
        sendJson(response, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        return;
      }
    } else {
      parsedBody = body.toString('utf8');
    }
  }
  const result = await endpoint.server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: (request.method ?? 'GET').toUpperCase(), headers, search: url.search, body: parsedBody },
    context: () => endpoint.context(request, body),
  });
  const responseHeaders: Record<string, string> = {};
  for (const [name, value] of result.headers) responseHeaders[name] = value;
  response.writeHead(result.status ?? 200, responseHeaders);
  if (result.body.kind === 'complete') {
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

export async function startHttpService<TContext extends BaseContext>(options: HttpServiceOptions<TContext>): Promise<HttpService> {
  const bodyBytesMax = options.bodyBytesMax ?? BODY_BYTES_MAX_DEFAULT;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? READINESS_TIMEOUT_MS_DEFAULT;
  const routes = new Map<string, RawRoute>();
  for (const route of options.routes ?? []) routes.set(`${route.method} ${route.path}`, route);

  const server = http.createServer((request, response) => {
    void dispatch(request, response).catch((error: unknown) => {
      options.logger.error({ err: error, path: request.url }, 'request failed');
      if (!response.headersSent) sendJson(response, error instanceof BodyTooLargeError ? 413 : 500, { error: 'internal error' });
      else response.end();
    });
  });
  server.keepAliveTimeout = 65_000;

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = (request.method ?? 'GET').toUpperCase();
    if (method === 'GET' && url.pathname === '/healthz') {
      sendJson(response, 200, { status: 'ok', service: options.service });
      return;
    }
    if (method === 'GET' && url.pathname === '/readyz') {
      const { ready, checks } = await evaluateReadiness(options.readiness, readinessTimeoutMs);
      sendJson(response, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', service: options.service, checks });
      return;
    }
    if (method === 'GET' && url.pathname === '/metrics' && options.metrics) {
      const text = await options.metrics.metrics();
      response.writeHead(200, { 'content-type': options.metrics.contentType });
      response.end(text);
      return;
    }
    const route = routes.get(`${method} ${url.pathname}`);
    if (route) {
      const body = method === 'POST' ? await readBody(request, bodyBytesMax) : Buffer.alloc(0);
      await route.handle(request, response, body);
      return;
    }
    if (options.graphql && url.pathname === options.graphql.path) {
      const body = method === 'POST' ? await readBody(request, bodyBytesMax) : Buffer.alloc(0);
      await handleGraphQL(options.graphql, request, response, body, url);
      return;
    }
    sendJson(response, 404, { error: 'not found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, `${options.service} listening`);
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
