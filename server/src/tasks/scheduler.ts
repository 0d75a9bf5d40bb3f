// A queue with a parallelism limit. It knows jobs, not tasks: each job has a key, runs with
// an AbortSignal, and frees its slot when its promise settles. A job waiting on something outside
// the machine (a user's answer) parks: its slot goes to the next job until it resumes.
// Jobs have an owner (a user's login, null for the admin's): owners take turns for free slots
// (the one served longest ago first, oldest job first within an owner), and a user holds at most
// `maxPerUser` slots at once, so one person's twenty tasks never block a teammate's one.

/** A running job's hold on its slot. */
export interface Lease {
  /** Give the slot back while the job waits (it keeps running, it just does no work). */
  park(): void;
  /**
   * Take a slot again; resolves once one is free (resuming jobs go before queued ones).
   * `onWait` is called at once when no slot is free.
   */
  resume(onWait?: () => void): Promise<void>;
}

export type Job = (signal: AbortSignal, lease: Lease) => Promise<void>;

interface Running {
  controller: AbortController;
  done: Promise<void>;
  parked: boolean;
  /** Set while it waits for a slot to resume. */
  waking?: () => void;
  owner: string | null;
}

export class Scheduler {
  private readonly queue: { key: string; job: Job; owner: string | null }[] = [];
  /** When each owner last got a slot (a rising counter): the least recent goes next. */
  private readonly served = new Map<string | null, number>();
  private turn = 0;
  private readonly running = new Map<string, Running>();
  /** Parked jobs waiting for a slot, in the order they asked. */
  private readonly resuming: Running[] = [];
  /** Running jobs holding a slot (not parked). */
  private active = 0;
  private closed = false;

  constructor(
    private readonly maxParallel: number,
    private readonly onError: (key: string, err: unknown) => void,
    /** Slots one user's jobs may hold at once; the admin's (owner null) are not capped. */
    private readonly maxPerUser: number = maxParallel,
  ) {}

  enqueue(key: string, job: Job, owner: string | null = null): void {
    if (this.closed) throw new Error('scheduler is closed');
    // A job whose key is still winding down (its attempt already reported finished) waits for it.
    if (this.queue.some((q) => q.key === key)) throw new Error(`job ${key} is already scheduled`);
    this.queue.push({ key, job, owner });
    this.pump();
  }

  /** 'removed' from the queue, 'aborted' while running, or 'unknown'. `reason`: the run's abort reason (default: the user cancelled). */
  cancel(key: string, reason = 'cancelled by the user'): 'removed' | 'aborted' | 'unknown' {
    const i = this.queue.findIndex((q) => q.key === key);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return 'removed';
    }
    const r = this.running.get(key);
    if (r) {
      r.controller.abort(new DOMException(reason, 'AbortError'));
      return 'aborted';
    }
    return 'unknown';
  }

  isScheduled(key: string): boolean {
    return this.running.has(key) || this.queue.some((q) => q.key === key);
  }

  /** Jobs holding a slot. */
  get runningCount(): number {
    return this.active;
  }

  /** Jobs started and parked (waiting for their user). */
  get parkedCount(): number {
    return this.running.size - this.active;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /** Wait for a running job to settle (after cancel). */
  async settled(key: string): Promise<void> {
    await this.running.get(key)?.done;
  }

  private pump(): void {
    while (this.active < this.maxParallel) {
      const waking = this.resuming.shift();
      if (waking) {
        this.wake(waking);
        continue;
      }
      if (this.closed) return;
      const next = this.nextIndex();
      if (next < 0) return;
      const { key, job, owner } = this.queue.splice(next, 1)[0]!;
      this.served.set(owner, ++this.turn);
      const entry: Running = { controller: new AbortController(), done: Promise.resolve(), parked: false, owner };
      this.active++;
      entry.done = Promise.resolve()
        .then(() => job(entry.controller.signal, this.lease(entry)))
        .catch((err: unknown) => this.onError(key, err))
        .finally(() => {
          this.running.delete(key);
          const i = this.resuming.indexOf(entry);
          if (i >= 0) this.resuming.splice(i, 1);
          if (!entry.parked) this.active--;
          this.pump();
        });
      this.running.set(key, entry);
    }
  }

  /** The queued job to start next: its owner's turn, its owner under the cap, oldest first; -1 for none. */
  private nextIndex(): number {
    const holding = new Map<string | null, number>();
    for (const r of this.running.values()) if (!r.parked) holding.set(r.owner, (holding.get(r.owner) ?? 0) + 1);
    let best = -1;
    let bestTurn = Infinity;
    this.queue.forEach((q, i) => {
      if (this.running.has(q.key)) return;
      if (q.owner !== null && (holding.get(q.owner) ?? 0) >= this.maxPerUser) return;
      const t = this.served.get(q.owner) ?? 0;
      if (t < bestTurn) {
        best = i;
        bestTurn = t;
      }
    });
    return best;
  }

  private wake(entry: Running): void {
    entry.parked = false;
    this.active++;
    const waking = entry.waking;
    entry.waking = undefined;
    waking?.();
  }

  private lease(entry: Running): Lease {
    return {
      park: () => {
        if (entry.parked) return;
        entry.parked = true;
        this.active--;
        this.pump();
      },
      resume: (onWait) =>
        new Promise<void>((resolve) => {
          if (!entry.parked) return resolve();
          if (entry.waking) {
            const earlier = entry.waking;
            entry.waking = () => (earlier(), resolve());
            return;
          }
          entry.waking = resolve;
          this.resuming.push(entry);
          this.pump();
          if (entry.parked) onWait?.();
        }),
    };
  }

  /** Stop taking jobs, abort the running ones and wait for them (bounded by the caller). */
  async close(reason: string): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const r of this.running.values()) r.controller.abort(new DOMException(reason, 'AbortError'));
    // Parked jobs that asked for a slot get one at once: they only have to wind down.
    for (const r of this.resuming.splice(0)) this.wake(r);
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
