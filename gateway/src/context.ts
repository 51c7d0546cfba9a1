import type { BaseContext } from '@apollo/server';
import type { Caller, Logger } from '@clearhouse/shared';

export interface GatewayContext extends BaseContext {
  readonly caller: Caller;
  readonly correlationId: string;
  readonly logger: Logger;
}
