// A server node's part in a fleet (PostgreSQL store only; a single SQLite node never builds one).
// The database is the queue: TaskService leaves new attempts `queued` there and wakes the claimers
// (NOTIFY); each node takes work up to its --max-parallel and runs it on its local Scheduler under
// a lease it renews by heartbeat. A node that stops renewing (killed, cut off) loses its attempts
// to the first node with a free slot, which resumes them from their saved work and conversation.
// Cancel and answer reach the node running an attempt through NOTIFY; steering messages and
// follow-ups are in the database already.
import { isFinished } from '../../../protocol';
import type { Health } from '../../../protocol';
import type { Logger } from '../log';
import type { AttemptRecord, Claim, Store } from '../store/types';
import type { AttemptJob } from '../tasks/runner';
import type { Lease, Scheduler } from '../tasks/scheduler';
import type { Questions } from '../tasks/questions';
import type { TaskEvents } from '../tasks/taskEvents';
import { Claimer, QUEUE_CHANNEL } from './claimer';
import { Heartbeat, type FleetStop } from './heartbeat';
import { jobFor } from './resume';

const CANCEL_CHANNEL = 'delegate_cancel';
const ANSWER_CHANNEL = 'delegate_answer';
/** How long a cancel for an attempt this node does not run is remembered (a claim racing it). */
const CANCEL_MEMORY_MS = 10_000;

export interface FleetDeps {
  store: Store;
  events: TaskEvents;
  scheduler: Scheduler;
  questions: Questions;
  /** The runner (TaskRunner.run), called for each attempt this node claims. */
  run: (job: AttemptJob, signal: AbortSignal, lease: Lease) => Promise<void>;
  nodeId: string;
  /** Where this node listens (known once it does). */
  url: () => string;
  maxParallel: number;
  maxParallelPerUser: number;
  leaseMs: number;
  isShuttingDown: () => boolean;
  log: Logger;
}

export type FleetHealth = NonNullable<Health['fleet']>;

/** What TaskService asks of the fleet instead of its local scheduler (tasks/service.ts). */
export interface FleetDispatch {
  /** An attempt was left queued in the database: wake the claimers. */
  queued(): Promise<void>;
  /** Stop the task's unfinished attempts wherever they run; resolves once they are finished. `actor`: who asked. */
  cancel(taskId: string, attempts: AttemptRecord[], actor: string | null): Promise<void>;
  /** Hand an answer to the node whose attempt waits for it (the message is stored first). */
  answer(attempt: AttemptRecord, text: string, cause: number | undefined): Promise<void>;
}

export class Fleet implements FleetDispatch {
  readonly heartbeat: Heartbeat;
  private readonly claimer: Claimer;
  /** Why this node stopped a run it holds (absent: the user cancelled it, or it ended by itself). */
  private readonly stops = new Map<string, FleetStop>();
  private readonly cancelled = new Map<string, number>();
  private readonly unlisten: (() => void)[] = [];
  private draining = false;

  constructor(private readonly deps: FleetDeps) {
    this.heartbeat = new Heartbeat({ store: deps.store, nodeId: deps.nodeId, url: deps.url, maxParallel: deps.maxParallel, leaseMs: deps.leaseMs, running: () => deps.scheduler.runningCount, log: deps.log });
    this.claimer = new Claimer({
      store: deps.store,
      nodeId: deps.nodeId,
      leaseMs: deps.leaseMs,
      maxPerUser: deps.maxParallelPerUser,
      freeSlots: () => deps.maxParallel - deps.scheduler.runningCount - deps.scheduler.queuedCount,
      mayClaim: () => !this.draining && !deps.isShuttingDown() && this.heartbeat.healthy,
      start: (claim, previousNode) => this.startClaimed(claim, previousNode),
      log: deps.log,
    });
  }

  async start(): Promise<void> {
    await this.heartbeat.start();
    this.unlisten.push(await this.deps.store.listen(CANCEL_CHANNEL, (payload) => this.onCancel(payload)));
    this.unlisten.push(await this.deps.store.listen(ANSWER_CHANNEL, (payload) => void this.onAnswer(payload)));
    await this.claimer.start();
  }

  async queued(): Promise<void> {
    await this.deps.store.notify(QUEUE_CHANNEL, '');
  }

  async cancel(taskId: string, attempts: AttemptRecord[], actor: string | null): Promise<void> {
    const { store, events, scheduler } = this.deps;
    for (const a of attempts) {
      if (isFinished(a.status)) continue;
      if (scheduler.cancel(a.workspaceKey) !== 'unknown') continue;
      // With who asked: the node running it records them on the cancelled status (audit).
      await store.notify(CANCEL_CHANNEL, JSON.stringify({ key: a.workspaceKey, taskId, actor }));
      // Nobody holds it: it is still in the queue (a claim racing this hears the notification).
      if (a.status === 'queued' && !a.node) await events.setAttempt(taskId, a.index, { status: 'cancelled' }, { finishedAt: new Date().toISOString() });
    }
    // The node running it finishes the attempt as cancelled (its work kept); wait for that.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const now = await store.getAttempts(taskId);
      if (now.every((a) => isFinished(a.status) || !attempts.some((b) => b.index === a.index))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async answer(attempt: AttemptRecord, text: string, cause: number | undefined): Promise<void> {
    if (this.deps.questions.answer(attempt.workspaceKey, text, cause)) return;
    // Kept until the waiting node takes it, or the node that takes the attempt over resumes with it.
    await this.deps.store.addMessage(attempt.workspaceKey, 'answer', text);
    await this.deps.store.notify(ANSWER_CHANNEL, JSON.stringify({ key: attempt.workspaceKey, cause: cause ?? null }));
  }

  /**
   * The runner asks before it records a run's end as cancelled or interrupted: a run this node
   * stopped for the fleet's sake (lost lease, cut off, shutting down) is not finished but given
   * back, with what it has, for another node to continue. True when the fleet took care of it.
   */
  async handOver(job: AttemptJob, patch: Partial<AttemptRecord>): Promise<boolean> {
    const guard = job.guard;
    if (!guard) return false;
    const why = this.stops.get(guard.key) ?? (this.deps.isShuttingDown() ? 'drain' : undefined);
    if (!why) return false;
    if (why === 'lease_lost') return true;
    const { store, log } = this.deps;
    try {
      const kept: Partial<AttemptRecord> = {};
      if (patch.history) kept.history = patch.history;
      if (patch.usage) kept.usage = patch.usage;
      if (patch.changedFiles) kept.changedFiles = patch.changedFiles;
      if (Object.keys(kept).length > 0) await store.updateAttempt(job.taskId, job.index, kept, guard);
      if (await store.requeue(guard)) {
        log.info('attempt given back to the fleet', { key: guard.key, why });
        await store.notify(QUEUE_CHANNEL, '');
      }
    } catch (err) {
      // The usual one: LeaseLostError, another node holds it now; this node's write is refused.
      log.warn('late write refused: the attempt is not this node\'s any more', { key: guard.key, why, err: err as Error });
    }
    return true;
  }

  /**
   * Graceful drain, first step: take nothing more. The attempts running here are given back to the
   * queue as the scheduler stops them (handOver); the heartbeat keeps their leases until then.
   */
  async stopClaiming(): Promise<void> {
    this.draining = true;
    await this.claimer.close();
  }

  /** Last step, once every run here has stopped. */
  close(): void {
    this.draining = true;
    void this.claimer.close();
    for (const u of this.unlisten.splice(0)) u();
    this.heartbeat.stop();
  }

  async health(): Promise<FleetHealth> {
    const staleMs = this.deps.leaseMs;
    try {
      const nodes = await this.deps.store.liveNodes(staleMs);
      return { node: this.deps.nodeId, leaseMs: this.deps.leaseMs, nodes: nodes.map((n) => ({ id: n.id, maxParallel: n.maxParallel, running: n.running, free: Math.max(0, n.maxParallel - n.running), seenAt: n.seenAt ?? null })) };
    } catch {
      return { node: this.deps.nodeId, leaseMs: this.deps.leaseMs, nodes: [], reachable: false };
    }
  }

  private async startClaimed(claim: Claim, previousNode: string | undefined): Promise<void> {
    const { store, scheduler, log } = this.deps;
    const guard = { key: claim.key, fence: claim.fence };
    const cancelledAt = this.cancelled.get(claim.key);
    if (cancelledAt !== undefined && Date.now() - cancelledAt < CANCEL_MEMORY_MS) {
      this.cancelled.delete(claim.key);
      await this.deps.events.setAttempt(claim.taskId, claim.index, { status: 'cancelled' }, { finishedAt: new Date().toISOString() }, [], undefined, guard);
      await store.releaseLease(guard);
      return;
    }
    this.heartbeat.hold({ guard, taskId: claim.taskId, index: claim.index, stop: (why) => this.stop(claim.key, why) });
    try {
      const plan = await jobFor(store, this.deps.events, claim, this.deps.nodeId, previousNode);
      if (!plan) {
        this.heartbeat.release(claim.key);
        await store.releaseLease(guard);
        return;
      }
      scheduler.enqueue(
        claim.key,
        async (signal, lease) => {
          try {
            if (plan.job.followup && !plan.job.resumed) await store.takeMessages(claim.key, 'followup');
            await this.deps.run(plan.job, signal, lease);
          } finally {
            this.heartbeat.release(claim.key);
            this.stops.delete(claim.key);
            await store.releaseLease(guard).catch(() => undefined);
            this.claimer.wake();
          }
        },
        plan.owner,
      );
    } catch (err) {
      this.heartbeat.release(claim.key);
      log.warn('could not start a claimed attempt; its lease will run out and another node takes it', { key: claim.key, err: err as Error });
    }
  }

  private stop(key: string, why: FleetStop): void {
    this.stops.set(key, why);
    this.deps.scheduler.cancel(key, `stopped by the fleet: ${why}`);
  }

  private onCancel(payload: string): void {
    let parsed: { key?: unknown; taskId?: unknown; actor?: unknown };
    try {
      parsed = JSON.parse(payload) as typeof parsed;
    } catch {
      return;
    }
    const { key, taskId, actor } = parsed;
    if (typeof key !== 'string') return;
    if (this.deps.scheduler.cancel(key) === 'unknown') this.cancelled.set(key, Date.now());
    // Before the run records its end (later, asynchronously): the cancelled status names who asked.
    else if (typeof taskId === 'string') this.deps.events.noteCanceller(taskId, typeof actor === 'string' ? actor : null);
    for (const [k, at] of this.cancelled) if (Date.now() - at > CANCEL_MEMORY_MS) this.cancelled.delete(k);
  }

  private async onAnswer(payload: string): Promise<void> {
    let parsed: { key?: unknown; cause?: unknown };
    try {
      parsed = JSON.parse(payload) as { key?: unknown; cause?: unknown };
    } catch {
      return;
    }
    const key = typeof parsed.key === 'string' ? parsed.key : undefined;
    if (!key || !this.deps.questions.isWaiting(key)) return;
    const [message] = (await this.deps.store.takeMessages(key, 'answer')).slice(-1);
    if (message) this.deps.questions.answer(key, message.text, typeof parsed.cause === 'number' ? parsed.cause : undefined);
  }
}
