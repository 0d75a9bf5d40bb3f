// A FIFO queue with a parallelism limit. It knows jobs, not tasks: each job has a key, runs with
// an AbortSignal, and frees its slot when its promise settles.

export type Job = (signal: AbortSignal) => Promise<void>;

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

export class Scheduler {
  private readonly queue: { key: string; job: Job }[] = [];
  private readonly running = new Map<string, Running>();
  private closed = false;

  constructor(
    private readonly maxParallel: number,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  enqueue(key: string, job: Job): void {
    if (this.closed) throw new Error('scheduler is closed');
    // A job whose key is still winding down (its attempt already reported finished) waits for it.
    if (this.queue.some((q) => q.key === key)) throw new Error(`job ${key} is already scheduled`);
    this.queue.push({ key, job });
    this.pump();
  }

  /** 'removed' from the queue, 'aborted' while running, or 'unknown'. */
  cancel(key: string): 'removed' | 'aborted' | 'unknown' {
    const i = this.queue.findIndex((q) => q.key === key);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return 'removed';
    }
    const r = this.running.get(key);
    if (r) {
      r.controller.abort(new DOMException('cancelled by the user', 'AbortError'));
      return 'aborted';
    }
    return 'unknown';
  }

  isScheduled(key: string): boolean {
    return this.running.has(key) || this.queue.some((q) => q.key === key);
  }

  get runningCount(): number {
    return this.running.size;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Wait for a running job to settle (after cancel). */
  async settled(key: string): Promise<void> {
    await this.running.get(key)?.done;
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.maxParallel) {
      const next = this.queue.findIndex((q) => !this.running.has(q.key));
      if (next < 0) return;
      const { key, job } = this.queue.splice(next, 1)[0]!;
      const controller = new AbortController();
      const done = Promise.resolve()
        .then(() => job(controller.signal))
        .catch((err: unknown) => this.onError(key, err))
        .finally(() => {
          this.running.delete(key);
          this.pump();
        });
      this.running.set(key, { controller, done });
    }
  }

  /** Stop taking jobs, abort the running ones and wait for them (bounded by the caller). */
  async close(reason: string): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const r of this.running.values()) r.controller.abort(new DOMException(reason, 'AbortError'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
