// Every request the gateway sends to a subgraph carries the caller, signed and time-limited,
// and the correlation id; subgraphs refuse anything unsigned.
import type { Fetcher } from '@apollo/utils.fetcher';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CORRELATION_HEADER, signCaller } from '@clearhouse/shared';
import type { GatewayContext } from './context.js';

export class SignedSubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // The fetcher is the gateway's SubgraphHttpClient (undici's request API on keep-alive
  // connections): cheaper per request than the default make-fetch-happen stack and than Node's
  // fetch (profiled at ~8 % and ~14 % of the gateway's CPU respectively).
  constructor(url: string, private readonly signingSecret: string, fetcher: Fetcher) {
    super({ url, fetcher });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const http = request.http;
    if (!http) return;
    const caller = 'caller' in context ? (context as GatewayContext).caller : undefined;
    if (!caller) return;
    for (const [name, value] of Object.entries(signCaller(caller, this.signingSecret))) http.headers.set(name, value);
    http.headers.set(CORRELATION_HEADER, (context as GatewayContext).correlationId);
  }
}
