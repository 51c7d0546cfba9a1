// Events (evt_): created for every state change, stored (so /v1/events lists them even when a
// delivery is dropped or the endpoint is not enabled for the type) and handed to the webhook
// dispatcher as persisted jobs. Types the endpoint is not enabled for get no delivery at all
// (pending_webhooks 0, no job, nothing in the webhook log). Webhook faults act here, on enabled
// types only: drop (no delivery), duplicate (two deliveries), delay and shuffle (random delay).
import type { Clock } from './clock.js';
import type { RuntimeConfig } from './config.js';
import type { EnabledEventTypes } from './enabledEvents.js';
import type { FaultState } from './faults.js';
import { newId } from './ids.js';
import type { JobScheduler } from './jobs.js';
import type { RequestLog } from './requestLog.js';
import { requestContext } from './requestContext.js';
import { publicView, type StoredObject, type StripeEvent } from './types.js';
import type { Store } from '../store/store.js';

export const apiVersion = '2026-10-28.endive';
export { jobKinds } from './jobKinds.js';
export const webhookJobKind = 'webhook';

export class EventBus {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly jobs: JobScheduler,
    private readonly faults: FaultState,
    private readonly config: RuntimeConfig,
    private readonly log: RequestLog,
    private readonly enabledTypes: EnabledEventTypes,
  ) {}

  emit(type: string, object: StoredObject, previousAttributes?: Record<string, unknown>): StripeEvent {
    const request = requestContext.getStore();
    const enabled = this.enabledTypes.matches(type);
    // Faults are rolled only for events the endpoint would receive: a not-enabled type is not a
    // delivery, so it neither consumes a drop nor shows up as one.
    const deliveries = enabled ? this.deliveryDelaysMs() : [];
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      type,
      created: this.clock.nowSeconds(),
      livemode: false,
      api_version: apiVersion,
      pending_webhooks: deliveries.length,
      request: { id: request?.requestId ?? null, idempotency_key: request?.idempotencyKey ?? null },
      data: {
        object: structuredClone(publicView(object)),
        ...(previousAttributes ? { previous_attributes: previousAttributes } : {}),
      },
    };
    this.store.save(event);
    if (enabled && deliveries.length === 0) this.logDropped(event);
    for (const delayMs of deliveries) this.jobs.schedule(webhookJobKind, delayMs, { eventId: event.id });
    return event;
  }

  /** One entry per delivery to make: none when dropped, two when duplicated. */
  private deliveryDelaysMs(): number[] {
    const faults = this.faults.get();
    if (this.faults.roll(faults.webhookDropRate)) return [];
    const copies = this.faults.roll(faults.webhookDuplicateRate) ? 2 : 1;
    const delays: number[] = [];
    for (let copy = 0; copy < copies; copy++) {
      const shuffleMs = faults.webhookShuffle ? Math.floor(Math.random() * this.config.shuffleWindowMs) : 0;
      delays.push((faults.webhookDelayMs ?? 0) + shuffleMs);
    }
    return delays;
  }

  private logDropped(event: StripeEvent): void {
    this.log.add({
      kind: 'webhook',
      at: new Date().toISOString(),
      eventId: event.id,
      type: event.type,
      deliveryId: '',
      attempt: 0,
      status: null,
      outcome: 'dropped',
      error: 'dropped by fault injection',
      nextAttemptInMs: null,
    });
  }
}
