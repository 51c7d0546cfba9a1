// The caller headers the gateway signs bind the request they came with: a real subgraph edge
// (the shared startSubgraphService every subgraph runs) with a mutation that writes to the real
// PostgreSQL, reached through SignedSubgraphDataSource. Headers captured from one request cannot
// carry another body, or the same body with another method, within their lifetime.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher, FetcherRequestInit } from '@apollo/utils.fetcher';
import { createLogger, createPgDatabase, startSubgraphService, type Caller, type HttpService, type PgDatabase, type RequestContext, type Stoppable } from '@clearhouse/shared';
import { createEmptyTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import type { GatewayContext } from './context.js';
import { SignedSubgraphDataSource } from './datasource.js';
import { useSubgraphFixture } from './testing/subgraph-fixture.js';

jest.setTimeout(60_000);

const SIGNING_SECRET = 'signed-requests-test-secret';
const caller: Caller = { role: 'platform', keyId: 'key_signed', sellerId: null };
const logger = createLogger({ service: 'gateway-test', level: 'silent' });

const NOTES_SCHEMA = `
  type Note @key(fields: "id") { id: ID! text: String! }
  type Query { note(id: ID!): Note }
  type Mutation { addNote(text: String!): Note! }
`;

const fixture = useSubgraphFixture();

let database: TestDatabase;
let db: PgDatabase;
let schemaDir: string;
let subgraph: { http: HttpService; parts: Stoppable[] };

beforeAll(async () => {
  database = await createEmptyTestDatabase('gateway_signing');
  db = createPgDatabase(database.url, { poolMax: 2 });
  await db.$executeRawUnsafe('CREATE TABLE notes (id bigserial PRIMARY KEY, text text NOT NULL)');
  schemaDir = mkdtempSync(join(tmpdir(), 'clearhouse-notes-'));
  writeFileSync(join(schemaDir, 'schema.graphql'), NOTES_SCHEMA);
  subgraph = await startSubgraphService<RequestContext>({
    service: 'notes',
    port: 0,
    host: '127.0.0.1',
    production: true,
    signingSecret: SIGNING_SECRET,
    logger,
    schemaFile: join(schemaDir, 'schema.graphql'),
    resolvers: {
      Query: { note: (_: unknown, { id }: { id: string }) => ({ id, text: `note ${id}` }) },
      Note: { __resolveReference: ({ id }: { id: string }) => ({ id, text: `note ${id}` }) },
      Mutation: {
        addNote: async (_: unknown, { text }: { text: string }) => {
          const [row] = await db.$queryRawUnsafe<{ id: string }[]>('INSERT INTO notes (text) VALUES ($1) RETURNING id::text AS id', text);
          return { id: row?.id, text };
        },
      },
    },
    extendContext: (base) => base,
    readiness: async () => ({ database: true }),
  });
});

afterAll(async () => {
  for (const part of [...(subgraph?.parts ?? [])].reverse()) await part.stop();
  await db?.end();
  await database?.drop();
  if (schemaDir) rmSync(schemaDir, { recursive: true, force: true });
});

interface SentRequest {
  readonly url: string;
  readonly init: FetcherRequestInit;
}

/** The gateway's own fetcher, with every request it sends kept for the test to replay. */
function recordingFetcher(sent: SentRequest[]): Fetcher {
  const fetcher = fixture.client.fetcher(5_000);
  return (url, init) => {
    sent.push({ url, init: init ?? {} });
    return fetcher(url, init);
  };
}

function processOptions(query: string, variables: Record<string, unknown> = {}): GraphQLDataSourceProcessOptions<GatewayContext> {
  const context: GatewayContext = { caller, correlationId: 'corr-signed', logger };
  // As in datasource.test.ts: a health-check kind carries only what willSendRequest reads.
  return { kind: 'health check', request: { query, variables }, context } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
}

async function noteCount(): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ n: string | bigint }[]>('SELECT count(*) AS n FROM notes');
  return Number(rows[0]?.n ?? 0);
}

async function replay(url: string, headers: Record<string, string>, method: 'GET' | 'POST', body?: string): Promise<{ status: number; codes: unknown[] }> {
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const json = (await response.json()) as { errors?: { extensions?: { code?: unknown } }[] };
  return { status: response.status, codes: (json.errors ?? []).map((error) => error.extensions?.code) };
}

test("the gateway's own requests pass: a query, a batched _entities request and a mutation", async () => {
  const sent: SentRequest[] = [];
  const source = new SignedSubgraphDataSource(`${subgraph.http.url}/graphql`, SIGNING_SECRET, recordingFetcher(sent));

  expect((await source.process(processOptions('query ($id: ID!) { note(id: $id) { id text } }', { id: 'n1' }))).data).toEqual({ note: { id: 'n1', text: 'note n1' } });
  const entities = await source.process(
    processOptions('query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Note { id text } } }', {
      representations: [
        { __typename: 'Note', id: 'n1' },
        { __typename: 'Note', id: 'n2' },
      ],
    }),
  );
  expect(entities.data).toEqual({ _entities: [{ id: 'n1', text: 'note n1' }, { id: 'n2', text: 'note n2' }] });
  const before = await noteCount();
  const added = await source.process(processOptions('mutation ($text: String!) { addNote(text: $text) { text } }', { text: 'by the gateway' }));
  expect(added.errors).toBeUndefined();
  expect(added.data).toEqual({ addNote: { text: 'by the gateway' } });
  expect(await noteCount()).toBe(before + 1);
  expect(sent.map((request) => request.init.method)).toEqual(['POST', 'POST', 'POST']);
});

test('signed headers captured from a query cannot carry a mutation, nor the query by GET, nor the query again: refused as unsigned, nothing written', async () => {
  const sent: SentRequest[] = [];
  const source = new SignedSubgraphDataSource(`${subgraph.http.url}/graphql`, SIGNING_SECRET, recordingFetcher(sent));
  await source.process(processOptions('query ($id: ID!) { note(id: $id) { id } }', { id: 'n1' }));
  const [captured] = sent;
  if (!captured) throw new Error('the data source sent nothing');
  const headers = captured.init.headers as Record<string, string>;
  const before = await noteCount();

  // The very request it was signed for, sent again within the headers' lifetime, is a replay...
  expect(await replay(captured.url, headers, 'POST', captured.init.body as string)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
  // ...and the same headers with another body are refused like any bad signature.
  const mutation = JSON.stringify({ query: 'mutation { addNote(text: "replayed") { id } }' });
  expect(await replay(captured.url, headers, 'POST', mutation)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
  const search = new URLSearchParams({ query: '{ note(id: "n2") { id text } }' });
  expect(await replay(`${captured.url}?${search.toString()}`, headers, 'GET')).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
  expect(await noteCount()).toBe(before);
});
