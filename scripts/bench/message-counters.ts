// Broker messages per operation, from the services' own Prometheus counters: what each service's
// outbox relay published (`clearhouse_outbox_published_total`) and what its consumers received
// (`clearhouse_messages_consumed_total`, every outcome). Like PostgreSQL's row counts
// (work-counters.ts), these move only when the code does, not with the VM's speed.

/** A service's counters at one moment. */
export interface ServiceMessages {
  published: number;
  consumed: number;
}

export type MessageSnapshot = Map<string, ServiceMessages>;

const COUNTERS = { clearhouse_outbox_published_total: 'published', clearhouse_messages_consumed_total: 'consumed' } as const;
const SCRAPE_TIMEOUT_MS = 5_000;

/** Sums the two counters over their labels in a Prometheus text exposition. */
export function messagesOf(exposition: string): ServiceMessages {
  const counts: ServiceMessages = { published: 0, consumed: 0 };
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_]+)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) continue;
    const key = COUNTERS[match[1] as keyof typeof COUNTERS];
    if (key) counts[key] += Number(match[2]);
  }
  return counts;
}

/** Scrapes every service's GET /metrics (the services are named by their GraphQL URLs); a service that does not answer is left out. */
export async function messageSnapshot(graphqlUrls: Readonly<Record<string, string>>): Promise<MessageSnapshot> {
  const entries = await Promise.all(
    Object.entries(graphqlUrls).map(async ([service, url]) => {
      try {
        const response = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
        if (!response.ok) return null;
        return [service, messagesOf(await response.text())] as const;
      } catch {
        return null;
      }
    }),
  );
  return new Map(entries.filter((entry) => entry !== null));
}

/** Per service, what happened between two snapshots (services present in both). */
export function messageDelta(before: MessageSnapshot, after: MessageSnapshot): Record<string, ServiceMessages> {
  const delta: Record<string, ServiceMessages> = {};
  for (const [service, end] of after) {
    const start = before.get(service);
    if (!start) continue;
    delta[service] = { published: Math.max(0, end.published - start.published), consumed: Math.max(0, end.consumed - start.consumed) };
  }
  return delta;
}
