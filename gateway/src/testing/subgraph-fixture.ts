// For tests only (left out of the build): a fresh SubgraphHttpClient per test and the recording
// servers a test starts, all closed after it.
import { SubgraphHttpClient } from '../subgraph-http.js';
import { startRecordingServer, type RecordingHandler, type RecordingServer } from './recording-server.js';

export interface TestServer extends RecordingServer {
  /** The server's /graphql endpoint. */
  readonly url: string;
}

export interface SubgraphFixture {
  /** This test's client. */
  readonly client: SubgraphHttpClient;
  /** Starts a recording server that is closed after the test. */
  serve(handler: RecordingHandler): Promise<TestServer>;
}

/** Call at the top level of a test file: registers the beforeEach/afterEach that manage the fixture. */
export function useSubgraphFixture(): SubgraphFixture {
  let client: SubgraphHttpClient | undefined;
  const servers: TestServer[] = [];
  beforeEach(() => {
    client = new SubgraphHttpClient();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return {
    get client(): SubgraphHttpClient {
      if (!client) throw new Error('the subgraph fixture is used outside a test');
      return client;
    },
    async serve(handler) {
      const recording = await startRecordingServer(handler);
      const server = Object.assign(recording, { url: `${recording.origin}/graphql` });
      servers.push(server);
      return server;
    },
  };
}
