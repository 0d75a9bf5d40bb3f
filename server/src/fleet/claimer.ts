// Takes work from the fleet's queue while this node has free slots: attempts whose holder's lease
// ran out first (a dead or cut-off node's running tasks: they were started earliest), then queued
// ones, oldest first and fair between owners (the store's claimQueued). A NOTIFY on the queue
// channel wakes every node at once (an idle node starts a new task within milliseconds); a slow
// poll stands in for lost notifications and is what finds expired leases.
import type { Logger } from '../log';
import type { Claim, Store } from '../store/types';

export const QUEUE_CHANNEL = 'delegate_queue';

export interface ClaimerDeps {
  store: Store;
  nodeId: string;
  leaseMs: number;
  maxPerUser: number;
  /** Slots free on this node for a new run. */
  freeSlots: () => number;
  /** False while this node may not take work (about to fence itself, draining). */
  mayClaim: () => boolean;
  /** Starts the claimed attempt here (it holds a slot once this resolves). */
  start: (claim: Claim, previousNode: string | undefined) => Promise<void>;
  log: Logger;
}

export class Claimer {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private closed = false;
  private failing = false;

  constructor(private readonly deps: ClaimerDeps) {}

  async start(): Promise<void> {
    this.unlisten = await this.deps.store.listen(QUEUE_CHANNEL, () => this.wake());
    // Expired leases are found by polling: a third of the lease, at most a second.
    this.timer = setInterval(() => this.wake(), Math.min(1000, Math.max(100, Math.floor(this.deps.leaseMs / 3))));
    this.wake();
  }

  /** Look for work now (coalesced: one pass at a time, one more if woken during it). */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.closed);
    })().finally(() => (this.running = null));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.unlisten?.();
    await this.running;
  }

  private async pass(): Promise<void> {
    const { store, nodeId, leaseMs } = this.deps;
    try {
      while (!this.closed && this.deps.mayClaim() && this.deps.freeSlots() > 0) {
        const expired = await store.claimExpired(nodeId, leaseMs);
        if (expired) {
          this.deps.log.warn('taking over an attempt whose node stopped renewing its lease', { key: expired.key, from: expired.previousNode });
          await this.deps.start(expired, expired.previousNode);
          continue;
        }
        const queued = await store.claimQueued(nodeId, leaseMs, this.deps.maxPerUser);
        if (!queued) break;
        await this.deps.start(queued, undefined);
      }
      if (this.failing) this.deps.log.info('claiming work again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.deps.log.warn('could not claim work', { err: err as Error });
      this.failing = true;
    }
  }
}
