// The store: tasks, attempts, pending user messages and the append-only event log. An interface so
// a team deployment can put PostgreSQL behind it; SQLite (better-sqlite3) is the embedded default.
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
}

export interface PendingMessage {
  id: number;
  /** The attempt's workspace key (messages go to one attempt). */
  key: string;
  kind: 'steer' | 'answer' | 'followup';
  text: string;
}

/**
 * Events link to the event that caused them (`cause`, a seq). An event written in the same batch as
 * its cause cannot know that seq yet: its `cause` is then negative, -k meaning the event k places
 * before it in the batch, and the store writes the real seq.
 */
export interface Store {
  /** Insert a task with its attempts, its repository spec and its task.created event, atomically. */
  createTask(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): TaskEvent;
  /** The repository spec the task was created with (kept apart: it can be large). */
  getRepoSpec(taskId: string): RepoSpec | undefined;
  getTask(id: string): Task | undefined;
  /** A task's owner, deleted tasks included: a login, null for the admin's, undefined when there is no such task. */
  taskOwner(id: string): string | null | undefined;
  listTasks(): Task[];
  /**
   * Change a task and append events in one transaction. `events` gets the updated task and the
   * task as it was before. Returns the stored events (with seq) in order.
   */
  updateTask(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[]): { task: Task; events: TaskEvent[] };
  /** Append events (no task change). */
  appendEvents(events: NewEvent[]): TaskEvent[];
  getAttempts(taskId: string): AttemptRecord[];
  updateAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>): AttemptRecord;
  /** Events with seq > since, in order, at most `limit`, optionally for some tasks only. */
  eventsSince(since: number, limit: number, taskIds?: ReadonlySet<string>): TaskEvent[];
  lastSeq(): number;
  addMessage(key: string, kind: PendingMessage['kind'], text: string): PendingMessage;
  /** Unconsumed messages of a kind for an attempt key, marked consumed. */
  takeMessages(key: string, kind: PendingMessage['kind']): PendingMessage[];
  /** Unconsumed messages of a kind for an attempt key, left unconsumed. */
  peekMessages(key: string, kind: PendingMessage['kind']): PendingMessage[];
  /** `actor`: who deleted it (a login, null for the admin), recorded on the task.deleted event. */
  deleteTask(id: string, actor?: string | null): TaskEvent;
  close(): void;
}
