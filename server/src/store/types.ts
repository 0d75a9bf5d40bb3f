// The store: tasks, attempts, pending user messages, the append-only event log, blobs (uploaded
// bundles, work patches) and, for a fleet, the nodes and the work queue. Asynchronous because
// PostgreSQL (a fleet) cannot be otherwise; SQLite (better-sqlite3) is the embedded default and
// does each operation synchronously inside the call, so a single node keeps its call order.
import type { NewEvent, RepoSpec, Task, TaskError, TaskEvent, Usage, ChangedFile, TestResult, TaskStatus } from '../../../protocol';
import type { ConversationItem } from '../agent/types';

export interface AttemptRecord {
  taskId: string;
  index: number;
  status: TaskStatus;
  workspaceKey: string;
  history: ConversationItem[];
  usage: Usage;
  changedFiles: ChangedFile[];
  summary?: string;
  testResult?: TestResult;
  /** Typed by code (protocol/errors.ts): only the task codes can end an attempt. */
  error?: TaskError;
  /** The node holding the attempt's lease (null or absent: nobody; SQLite: the local node). */
  node?: string | null;
  /** Raised by every claim: a write under an older fence comes from a node that lost the attempt. */
  fence?: number;
  /** ISO time the holder's lease runs out unless it heartbeats (absent: no lease). */
  leaseUntil?: string | null;
}

export interface PendingMessage {
  id: number;
  /** The attempt's workspace key (messages go to one attempt). */
  key: string;
  kind: 'steer' | 'answer' | 'followup';
  text: string;
}

/** A running attempt's right to write: its workspace key and the fence its node claimed it with. */
export interface Guard {
  key: string;
  fence: number;
}

/** A guarded write from a node whose lease on the attempt is gone: another node owns it now. */
export class LeaseLostError extends Error {
  readonly code = 'lease_lost';
  constructor(
    readonly guard: Guard,
    /** The attempt's fence now (undefined: the attempt is gone). */
    readonly currentFence: number | undefined,
  ) {
    super(`lease lost on ${guard.key}: fence ${guard.fence}, the attempt is at ${currentFence ?? 'none'}`);
    this.name = 'LeaseLostError';
  }
}

export interface NodeInfo {
  id: string;
  maxParallel: number;
  /** Attempts running (holding a slot) on the node. */
  running: number;
  /** Where other nodes or an operator reach it (informational). */
  url?: string;
  /** ISO time of the node's last heartbeat (set by the store). */
  seenAt?: string;
}

/** An attempt a node took from the queue: run it, writing under `fence`. */
export interface Claim extends Guard {
  taskId: string;
  index: number;
}

/** What an attempt+task update derives, given the attempt as updated and all the task's attempts. */
export type AttemptTaskDerive = (
  attempts: AttemptRecord[],
  task: Task,
) => { patch: Partial<Task>; events: (task: Task, before: Task) => NewEvent[] };

/**
 * Events link to the event that caused them (`cause`, a seq). An event written in the same batch as
 * its cause cannot know that seq yet: its `cause` is then negative, -k meaning the event k places
 * before it in the batch, and the store writes the real seq.
 *
 * `guard`: the write is made by a running attempt; the store refuses it (LeaseLostError) when the
 * attempt's fence is not the guard's any more, in the same transaction as the write.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /** Insert a task with its attempts, its repository spec and its task.created event, atomically. */
  createTask(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): Promise<TaskEvent>;
  /** The repository spec the task was created with (kept apart: it can be large). */
  getRepoSpec(taskId: string): Promise<RepoSpec | undefined>;
  getTask(id: string): Promise<Task | undefined>;
  /** A task's owner, deleted tasks included: a login, null for the admin's, undefined when there is no such task. */
  taskOwner(id: string): Promise<string | null | undefined>;
  listTasks(): Promise<Task[]>;
  /**
   * Change a task and append events in one transaction. `events` gets the updated task and the
   * task as it was before. Returns the stored events (with seq) in order.
   */
  updateTask(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[], guard?: Guard): Promise<{ task: Task; events: TaskEvent[] }>;
  /** Append events (no task change). */
  appendEvents(events: NewEvent[], guard?: Guard): Promise<TaskEvent[]>;
  getAttempts(taskId: string): Promise<AttemptRecord[]>;
  updateAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>, guard?: Guard): Promise<AttemptRecord>;
  /**
   * Update one attempt, then the task with what `derive` makes of all its attempts, and append the
   * events, in ONE transaction: two writers (two nodes) cannot interleave between the reads and
   * the writes. `derive` runs inside the transaction and must be synchronous and pure.
   */
  updateAttemptAndTask(taskId: string, index: number, patch: Partial<AttemptRecord>, derive: AttemptTaskDerive, guard?: Guard): Promise<{ task: Task; events: TaskEvent[]; attempts: AttemptRecord[] }>;
  /** Events with seq > since, in order, at most `limit`, optionally for some tasks only. */
  eventsSince(since: number, limit: number, taskIds?: ReadonlySet<string>): Promise<TaskEvent[]>;
  lastSeq(): Promise<number>;
  /**
   * Every committed event, once, in seq order, as this process learns of them (SQLite: right after
   * its own commit; PostgreSQL: every node's, read back after each notification). The EventBus feed.
   */
  onEvents(listener: (events: readonly TaskEvent[]) => void): () => void;
  addMessage(key: string, kind: PendingMessage['kind'], text: string): Promise<PendingMessage>;
  /** Unconsumed messages of a kind for an attempt key, marked consumed. */
  takeMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]>;
  /** Unconsumed messages of a kind for an attempt key, left unconsumed. */
  peekMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]>;
  /** `actor`: who deleted it (a login, null for the admin), recorded on the task.deleted event. */
  deleteTask(id: string, actor?: string | null): Promise<TaskEvent>;

  /** Binary-safe blobs by key (uploaded bundles, attempts' work patches). */
  putBlob(key: string, data: Buffer): Promise<void>;
  getBlob(key: string): Promise<Buffer | undefined>;
  /** Removes every blob whose key starts with `prefix`. */
  deleteBlobs(prefix: string): Promise<void>;
  /** Who uploaded a bundle (a login, null for the admin): a user's bundle serves only its uploaders. */
  addBundleOwner(bundleId: string, login: string | null): Promise<void>;
  bundleOwners(bundleId: string): Promise<(string | null)[]>;

  /**
   * Fleet (PostgreSQL). The node says it is alive (its row's seen_at, maxParallel, running) and
   * extends its lease on every attempt it `held`s under that fence; `lost`: the held attempts whose
   * fence moved on (another node claimed them) or that are gone — stop them. SQLite: nothing is lost.
   */
  heartbeat(node: NodeInfo, leaseMs: number, held?: readonly Guard[]): Promise<{ lost: Guard[] }>;
  /** Nodes whose last heartbeat is younger than `staleMs` (SQLite: this node once it heartbeated). */
  liveNodes(staleMs: number): Promise<NodeInfo[]>;
  /**
   * Takes the oldest queued attempt nobody holds, fairly between owners: an owner already running
   * `maxPerUser` attempts across the fleet is skipped, owners with fewer running go first. Sets
   * node, fence+1 and the lease; the task's `node`. Null when there is none. SQLite: not supported.
   */
  claimQueued(nodeId: string, leaseMs: number, maxPerUser: number): Promise<Claim | null>;
  /**
   * Takes an attempt in the middle of a run (preparing, running, waiting_for_input, or queued
   * while held: answered, waiting for a slot) whose holder's lease ran out. SQLite: not supported.
   */
  claimExpired(nodeId: string, leaseMs: number): Promise<(Claim & { previousNode: string }) | null>;
  /** The attempt ended: its holder lets go (no-op when the fence moved on). */
  releaseLease(guard: Guard): Promise<void>;
  /**
   * Graceful drain: gives a held attempt back to the queue at once (status queued, no holder,
   * fence+1 so the old holder's late writes are refused). False when the guard no longer holds it.
   */
  requeue(guard: Guard): Promise<boolean>;
  /** Cross-node signal (PostgreSQL NOTIFY; SQLite: in process). */
  notify(channel: string, payload: string): Promise<void>;
  listen(channel: string, fn: (payload: string) => void): Promise<() => void>;

  close(): Promise<void>;
}
