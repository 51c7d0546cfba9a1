// Per-request batching for resolvers: every load() of the same tick becomes one batch call (one
// query for N keys instead of N queries, e.g. for the entities the gateway resolves in one request).

export interface Loader<K, V> {
  load(key: K): Promise<V>;
  /** Seeds the request's cache with a value the caller holds (no effect when the key is loaded already). */
  prime(key: K, value: V): void;
}

const BATCH_SIZE_MAX = 1_000;

export function createLoader<K, V>(batch: (keys: K[]) => Promise<Map<K, V>>, missing: () => V): Loader<K, V> {
  const cache = new Map<K, Promise<V>>();
  let queue: { key: K; resolve: (value: V) => void; reject: (error: unknown) => void }[] = [];

  async function flush(): Promise<void> {
    const pending = queue;
    queue = [];
    for (let start = 0; start < pending.length; start += BATCH_SIZE_MAX) {
      const chunk = pending.slice(start, start + BATCH_SIZE_MAX);
      try {
        const found = await batch([...new Set(chunk.map((item) => item.key))]);
        for (const item of chunk) item.resolve(found.has(item.key) ? (found.get(item.key) as V) : missing());
      } catch (error) {
        for (const item of chunk) item.reject(error);
      }
    }
  }

  return {
    load(key) {
      const cached = cache.get(key);
      if (cached) return cached;
      const promise = new Promise<V>((resolve, reject) => {
        if (queue.length === 0) process.nextTick(() => void flush());
        queue.push({ key, resolve, reject });
      });
      cache.set(key, promise);
      return promise;
    },
    prime(key, value) {
      if (!cache.has(key)) cache.set(key, Promise.resolve(value));
    },
  };
}
