// Retention jobs delete in bounded batches (short statements, short locks): one batch after the
// other while each comes back full, at most batchesMax per run; the next run goes on.

/** Runs `deleteBatch(batchSize)` until it deletes fewer than batchSize rows or batchesMax batches ran; returns the rows deleted. */
export async function deleteInBatches(deleteBatch: (limit: number) => PromiseLike<number>, options: { batchSize: number; batchesMax: number }): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < options.batchesMax; batch++) {
    const count = await deleteBatch(options.batchSize);
    deleted += count;
    if (count < options.batchSize) break;
  }
  return deleted;
}
