// A fleet node's lease on the attempts it runs. Every leaseMs/3 the node heartbeats: the store
// records it alive and extends its lease on each attempt it holds (under the fence it claimed it
// with); an attempt whose fence moved on is lost and its run is stopped at once.
//
// Self-fencing: a node that could not renew for FENCE_AFTER of its lease stops every agent it runs,
// before the lease can run out and another node take the attempts over, so a node cut off from the
// database never runs a task at the same time as the node that takes it. Its writes after that are
// refused by the store anyway (fencing); stopping the agents also stops their commands and model
// calls, which no fence can reach.
import type { Logger } from '../log';
import type { Guard, Store } from '../store/types';

/** Of the lease: a node that has not renewed for this long stops its agents (the rest is margin). */
export const FENCE_AFTER = 0.6;

/** Why the fleet stopped a run (the runner hands such an attempt back instead of finishing it). */
export type FleetStop = 'lease_lost' | 'cut_off' | 'drain';

export interface HeldAttempt {
  guard: Guard;
  taskId: string;
  index: number;
  /** Stops the run (its AbortSignal). */
  stop(why: FleetStop): void;
}

export interface HeartbeatDeps {
  store: Store;
  nodeId: string;
  url: () => string;
  maxParallel: number;
  leaseMs: number;
  /** Attempts holding a slot on this node now. */
  running: () => number;
  log: Logger;
}

export class Heartbeat {
  private readonly held = new Map<string, HeldAttempt>();
  /** Runs this node stopped because it was cut off. */
  private readonly fenced = new WeakSet<HeldAttempt>();
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** When the last heartbeat that the store answered was sent. */
  private renewedAt = Date.now();
  private failing = false;
  private stopped = false;

  constructor(private readonly deps: HeartbeatDeps) {}

  /** Beats once (the node is listed before it claims anything), then every leaseMs/3. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.deps.leaseMs / 3)));
    this.armFence();
  }

  /**
   * Renewed recently enough to take work (the last beat, or the one before, answered): a node
   * about to fence itself claims nothing.
   */
  get healthy(): boolean {
    return !this.stopped && Date.now() - this.renewedAt < this.deps.leaseMs / 2;
  }

  hold(attempt: HeldAttempt): void {
    this.held.set(attempt.guard.key, attempt);
  }

  release(key: string): void {
    this.held.delete(key);
  }

  guardOf(key: string): Guard | undefined {
    return this.held.get(key)?.guard;
  }

  heldCount(): number {
    return this.held.size;
  }

  /** Stops beating (the node is leaving); its leases run out unless given back first. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.fenceTimer);
  }

  private async beat(): Promise<void> {
    // A heartbeat still waiting for the store (a cut network) is not doubled: the fence timer,
    // not the answer, decides when this node stops its agents.
    if (this.inFlight || this.stopped) return;
    this.inFlight = true;
    const sentAt = Date.now();
    const held = [...this.held.values()].map((h) => h.guard);
    try {
      const { lost } = await this.deps.store.heartbeat({ id: this.deps.nodeId, url: this.deps.url(), maxParallel: this.deps.maxParallel, running: this.deps.running() }, this.deps.leaseMs, held);
      this.renewedAt = Math.max(this.renewedAt, sentAt);
      this.armFence();
      if (this.failing) this.deps.log.info('heartbeat renewed again');
      this.failing = false;
      for (const guard of lost) {
        const h = this.held.get(guard.key);
        if (!h || h.guard.fence !== guard.fence) continue;
        this.deps.log.warn('lease lost: another node holds the attempt now; stopping its run here', { key: guard.key, fence: guard.fence });
        this.held.delete(guard.key);
        h.stop('lease_lost');
      }
    } catch (err) {
      if (!this.failing) this.deps.log.warn('heartbeat failed', { err: err as Error });
      this.failing = true;
    } finally {
      this.inFlight = false;
    }
  }

  private armFence(): void {
    clearTimeout(this.fenceTimer);
    if (this.stopped) return;
    const due = this.renewedAt + this.deps.leaseMs * FENCE_AFTER - Date.now();
    this.fenceTimer = setTimeout(() => this.selfFence(), Math.max(0, due));
    this.fenceTimer.unref();
  }

  private selfFence(): void {
    if (this.stopped) return;
    const fresh = [...this.held.values()].filter((h) => !this.fenced.has(h));
    if (fresh.length > 0) {
      this.deps.log.error('cut off from the database for most of the lease: stopping every agent on this node before another node takes its tasks over', {
        sinceRenewalMs: Date.now() - this.renewedAt,
        leaseMs: this.deps.leaseMs,
        attempts: fresh.map((h) => h.guard.key),
      });
      // The attempts stay held: if the database comes back before anyone took them, the runs give
      // them back to the queue (and, if someone did, those writes are refused).
      for (const h of fresh) {
        this.fenced.add(h);
        h.stop('cut_off');
      }
    }
    // Checked again a little later: attempts claimed meanwhile are stopped too.
    this.fenceTimer = setTimeout(() => this.selfFence(), Math.max(50, this.deps.leaseMs / 10));
    this.fenceTimer.unref();
  }
}
