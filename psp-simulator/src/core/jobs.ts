// Timed work that must survive a restart: webhook deliveries (and their retries), refunds
// settling, payouts arriving, processing payments completing, disputes arriving, sessions
// expiring. Each job is a row in `jobs`; a timer runs it when due; on start every stored job
// is scheduled again (overdue ones run at once).
import type { Logger } from 'pino';
import type { Row } from '../store/db.js';
import type { WriteBehind } from '../store/writeBehind.js';
import { newId } from './ids.js';

export interface Job {
  id: string;
  kind: string;
  dueAtMs: number;
  createdMs: number;
  attempt: number;
  data: Record<string, string>;
}

export type JobHandler = (job: Job) => Promise<void>;

/** setTimeout overflows above 2^31-1 ms; longer waits re-arm. */
const timerDelayMsMax = 2_147_483_647;

export class JobScheduler {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly writer: WriteBehind,
    private readonly logger: Logger,
  ) {}

  register(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Creates (or re-arms, same id) a job due after delayMs of real time. */
  schedule(kind: string, delayMs: number, data: Record<string, string>, existing?: Job): Job {
    const nowMs = Date.now();
    const job: Job = existing
      ? { ...existing, dueAtMs: nowMs + delayMs }
      : { id: newId('job'), kind, dueAtMs: nowMs + delayMs, createdMs: nowMs, attempt: 0, data };
    this.writer.upsert('jobs', { id: job.id, type: job.kind, created: job.createdMs, data: { ...job } });
    this.arm(job);
    return job;
  }

  complete(job: Job): void {
    this.writer.delete('jobs', job.id);
  }

  load(rows: Row[]): void {
    for (const row of rows) this.arm(row.data as unknown as Job);
  }

  pendingCount(): number {
    return this.timers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private arm(job: Job): void {
    if (this.stopped) return;
    const previous = this.timers.get(job.id);
    if (previous) clearTimeout(previous);
    const delayMs = Math.min(Math.max(job.dueAtMs - Date.now(), 0), timerDelayMsMax);
    const timer = setTimeout(() => this.fire(job), delayMs);
    timer.unref();
    this.timers.set(job.id, timer);
  }

  private fire(job: Job): void {
    this.timers.delete(job.id);
    if (this.stopped) return;
    if (job.dueAtMs > Date.now()) return this.arm(job);
    const handler = this.handlers.get(job.kind);
    if (!handler) {
      this.logger.error({ kind: job.kind }, 'psp simulator: no handler for job');
      this.complete(job);
      return;
    }
    const run = handler(job)
      .catch((error: unknown) => this.logger.error({ err: error, jobId: job.id, kind: job.kind }, 'psp simulator: job failed'))
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }
}
