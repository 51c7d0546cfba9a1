// For tests only (left out of the build): a real HTTP server on the loopback interface that
// records every request it receives and every connection it accepts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly remotePort: number;
}

export type RecordingHandler = (request: ReceivedRequest, response: ServerResponse) => void;

export interface RecordingServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  readonly received: ReceivedRequest[];
  /** Connections accepted since the start. */
  connectionCount(): number;
  close(): Promise<void>;
}

export async function startRecordingServer(handler: RecordingHandler): Promise<RecordingServer> {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let connectionsAccepted = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: ReceivedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: request.socket.remotePort ?? 0,
      };
      received.push(entry);
      handler(entry, response);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket: Socket) => {
    connectionsAccepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    connectionCount: () => connectionsAccepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening on it: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function answerJson(status: number, body: unknown, headers: Record<string, string> = {}): RecordingHandler {
  return (_request, response) => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
    response.end(text);
  };
}
