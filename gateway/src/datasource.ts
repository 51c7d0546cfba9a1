// Every request the gateway sends to a subgraph carries the caller, signed and time-limited,
// and the correlation id; subgraphs refuse anything unsigned.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CORRELATION_HEADER, signCaller } from '@clearhouse/shared';
import type { GatewayContext } from './context.js';

export class SignedSubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string, private readonly signingSecret: string) {
    super({ url });
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
