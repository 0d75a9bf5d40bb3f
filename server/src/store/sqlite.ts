// SQLite store (better-sqlite3, WAL), the single-node default. Every operation runs synchronously
// inside its call (the returned promise is already settled): call order is commit order, and the
// committed events reach onEvents listeners before the call returns, as one process needs.
import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NewEvent, RepoSpec, Task, TaskEvent } from '../../../protocol';
import { LeaseLostError, type AttemptRecord, type AttemptTaskDerive, type Claim, type Guard, type NodeInfo, type PendingMessage, type Store } from './types';

const MIGRATIONS: string[] = [
  `CREATE TABLE tasks (
     id TEXT PRIMARY KEY,
     created_at TEXT NOT NULL,
     deleted INTEGER NOT NULL DEFAULT 0,
     data TEXT NOT NULL
   );
   CREATE TABLE attempts (
     task_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     data TEXT NOT NULL,
     PRIMARY KEY (task_id, idx)
   );
   CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     task_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     text TEXT NOT NULL,
     consumed INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX messages_pending ON messages (task_id, consumed);
   CREATE TABLE events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     task_id TEXT NOT NULL,
     type TEXT NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX events_task ON events (task_id, seq);
   CREATE TABLE repo_specs (task_id TEXT PRIMARY KEY, data TEXT NOT NULL);`,
  // Users (#16): a task's owner, read on every request and every streamed event, so a column.
  `ALTER TABLE tasks ADD COLUMN owner TEXT;`,
  // The fleet's store interface (#15): guarded writes find an attempt by its key; uploaded bundles
  // and their owners live in the store (a node's disk is a cache).
  `ALTER TABLE attempts ADD COLUMN key TEXT;
   UPDATE attempts SET key = json_extract(data, '$.workspaceKey');
   CREATE UNIQUE INDEX attempts_key ON attempts (key);
   CREATE TABLE blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL);
   CREATE TABLE bundle_owners (bundle_id TEXT NOT NULL, login TEXT NOT NULL, PRIMARY KEY (bundle_id, login));`,
];

/** bundle_owners.login for the admin (null is not a key). */
const ADMIN = '';
const unsupported = (what: string) => new Error(`${what} is a fleet operation: the SQLite store serves one node, which schedules in process`);

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly listeners = new Set<(events: readonly TaskEvent[]) => void>();
  private readonly channels = new EventEmitter();
  private node: NodeInfo | undefined;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // Prompts and conversations are private; SQLite gives its -wal/-shm files the same mode.
    if (file !== ':memory:') chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a committed transaction survives a process kill; only an OS crash can lose the
    // last few, which is the trade every embedded WAL store makes for write speed.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    this.stmts = {
      insertTask: this.db.prepare('INSERT INTO tasks (id, created_at, data, owner) VALUES (?, ?, ?, ?)'),
      taskOwner: this.db.prepare('SELECT owner FROM tasks WHERE id = ?'),
      getTask: this.db.prepare('SELECT data FROM tasks WHERE id = ? AND deleted = 0'),
      listTasks: this.db.prepare('SELECT data FROM tasks WHERE deleted = 0 ORDER BY created_at, rowid'),
      updateTask: this.db.prepare('UPDATE tasks SET data = ? WHERE id = ?'),
      deleteTask: this.db.prepare('UPDATE tasks SET deleted = 1 WHERE id = ?'),
      insertAttempt: this.db.prepare('INSERT INTO attempts (task_id, idx, data, key) VALUES (?, ?, ?, ?)'),
      attemptByKey: this.db.prepare('SELECT data FROM attempts WHERE key = ?'),
      getAttempts: this.db.prepare('SELECT data FROM attempts WHERE task_id = ? ORDER BY idx'),
      getAttempt: this.db.prepare('SELECT data FROM attempts WHERE task_id = ? AND idx = ?'),
      updateAttempt: this.db.prepare('UPDATE attempts SET data = ? WHERE task_id = ? AND idx = ?'),
      insertEvent: this.db.prepare('INSERT INTO events (task_id, type, data) VALUES (?, ?, ?)'),
      eventsSince: this.db.prepare('SELECT seq, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      lastSeq: this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'"),
      addMessage: this.db.prepare('INSERT INTO messages (task_id, kind, text) VALUES (?, ?, ?)'),
      pendingMessages: this.db.prepare('SELECT id, task_id, kind, text FROM messages WHERE task_id = ? AND consumed = 0 AND kind = ? ORDER BY id'),
      consumeMessages: this.db.prepare('UPDATE messages SET consumed = 1 WHERE task_id = ? AND consumed = 0 AND kind = ? AND id <= ?'),
      insertSpec: this.db.prepare('INSERT INTO repo_specs (task_id, data) VALUES (?, ?)'),
      getSpec: this.db.prepare('SELECT data FROM repo_specs WHERE task_id = ?'),
      putBlob: this.db.prepare('INSERT INTO blobs (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data'),
      getBlob: this.db.prepare('SELECT data FROM blobs WHERE key = ?'),
      deleteBlobs: this.db.prepare("DELETE FROM blobs WHERE substr(key, 1, length(?)) = ?"),
      addOwner: this.db.prepare('INSERT OR IGNORE INTO bundle_owners (bundle_id, login) VALUES (?, ?)'),
      owners: this.db.prepare('SELECT login FROM bundle_owners WHERE bundle_id = ? ORDER BY login'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private insertEvents(events: NewEvent[]): TaskEvent[] {
    const at = new Date().toISOString();
    const stored: TaskEvent[] = [];
    for (const e of events) {
      const event = { ...e, ...batchCause(e.cause, stored) };
      const info = this.stmts.insertEvent.run(event.taskId, event.type, JSON.stringify({ ...event, at }));
      stored.push({ ...event, seq: Number(info.lastInsertRowid), at });
    }
    return stored;
  }

  /** Runs `write` in a transaction, then hands its events to the listeners (after the commit). */
  private commit<T>(write: () => { result: T; events: TaskEvent[] }): T {
    const { result, events } = this.db.transaction(write)();
    if (events.length > 0) for (const listener of this.listeners) listener(events);
    return result;
  }

  private checkGuard(guard: Guard | undefined): void {
    if (!guard) return;
    const row = this.stmts.attemptByKey.get(guard.key) as { data: string } | undefined;
    const fence = row ? ((JSON.parse(row.data) as AttemptRecord).fence ?? 0) : undefined;
    if (fence !== guard.fence) throw new LeaseLostError(guard, fence);
  }

  private getTaskSync(id: string): Task | undefined {
    const row = this.stmts.getTask.get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Task) : undefined;
  }

  private getAttemptsSync(taskId: string): AttemptRecord[] {
    return (this.stmts.getAttempts.all(taskId) as { data: string }[]).map((r) => JSON.parse(r.data) as AttemptRecord);
  }

  private updateTaskSync(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[]): { task: Task; events: TaskEvent[] } {
    const current = this.getTaskSync(id);
    if (!current) throw new Error(`no task ${id}`);
    const task: Task = { ...current, ...patch, updatedAt: new Date().toISOString() };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (task as Record<string, unknown>)[k];
    this.stmts.updateTask.run(JSON.stringify(task), id);
    return { task, events: this.insertEvents(events ? events(task, current) : []) };
  }

  private updateAttemptSync(taskId: string, index: number, patch: Partial<AttemptRecord>): AttemptRecord {
    const row = this.stmts.getAttempt.get(taskId, index) as { data: string } | undefined;
    if (!row) throw new Error(`no attempt ${taskId}#${index}`);
    const next = { ...(JSON.parse(row.data) as AttemptRecord), ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (next as unknown as Record<string, unknown>)[k];
    this.stmts.updateAttempt.run(JSON.stringify(next), taskId, index);
    return next;
  }

  async createTask(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): Promise<TaskEvent> {
    return this.commit(() => {
      this.stmts.insertTask.run(task.id, task.createdAt, JSON.stringify(task), task.owner ?? null);
      this.stmts.insertSpec.run(task.id, JSON.stringify(repoSpec));
      for (const a of attempts) this.stmts.insertAttempt.run(a.taskId, a.index, JSON.stringify(a), a.workspaceKey);
      const events = this.insertEvents([{ type: 'task.created', taskId: task.id, task, actor: task.owner ?? null }]);
      return { result: events[0]!, events };
    });
  }

  async getRepoSpec(taskId: string): Promise<RepoSpec | undefined> {
    const row = this.stmts.getSpec.get(taskId) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as RepoSpec) : undefined;
  }

  async getTask(id: string): Promise<Task | undefined> {
    return this.getTaskSync(id);
  }

  async taskOwner(id: string): Promise<string | null | undefined> {
    const row = this.stmts.taskOwner.get(id) as { owner: string | null } | undefined;
    return row ? row.owner : undefined;
  }

  async listTasks(): Promise<Task[]> {
    return (this.stmts.listTasks.all() as { data: string }[]).map((r) => JSON.parse(r.data) as Task);
  }

  async updateTask(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[], guard?: Guard): Promise<{ task: Task; events: TaskEvent[] }> {
    return this.commit(() => {
      this.checkGuard(guard);
      const result = this.updateTaskSync(id, patch, events);
      return { result, events: result.events };
    });
  }

  async appendEvents(events: NewEvent[], guard?: Guard): Promise<TaskEvent[]> {
    if (events.length === 0) return [];
    return this.commit(() => {
      this.checkGuard(guard);
      const stored = this.insertEvents(events);
      return { result: stored, events: stored };
    });
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.getAttemptsSync(taskId);
  }

  async updateAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>, guard?: Guard): Promise<AttemptRecord> {
    return this.commit(() => {
      this.checkGuard(guard);
      return { result: this.updateAttemptSync(taskId, index, patch), events: [] };
    });
  }

  async updateAttemptAndTask(taskId: string, index: number, patch: Partial<AttemptRecord>, derive: AttemptTaskDerive, guard?: Guard): Promise<{ task: Task; events: TaskEvent[]; attempts: AttemptRecord[] }> {
    return this.commit(() => {
      this.checkGuard(guard);
      this.updateAttemptSync(taskId, index, patch);
      const attempts = this.getAttemptsSync(taskId);
      const current = this.getTaskSync(taskId);
      if (!current) throw new Error(`no task ${taskId}`);
      const next = derive(attempts, current);
      const { task, events } = this.updateTaskSync(taskId, next.patch, next.events);
      return { result: { task, events, attempts }, events };
    });
  }

  async eventsSince(since: number, limit: number, taskIds?: ReadonlySet<string>): Promise<TaskEvent[]> {
    const out: TaskEvent[] = [];
    let cursor = since;
    // With a filter, keep paging until `limit` matching events or the end of the log.
    for (;;) {
      const rows = this.stmts.eventsSince.all(cursor, limit) as { seq: number; data: string }[];
      for (const r of rows) {
        cursor = r.seq;
        const event = { ...(JSON.parse(r.data) as object), seq: r.seq } as TaskEvent;
        if (!taskIds || taskIds.has(event.taskId)) out.push(event);
        if (out.length >= limit) return out;
      }
      if (rows.length < limit) return out;
    }
  }

  async lastSeq(): Promise<number> {
    const row = this.stmts.lastSeq.get() as { seq: number } | undefined;
    return row ? Number(row.seq) : 0;
  }

  onEvents(listener: (events: readonly TaskEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async addMessage(key: string, kind: PendingMessage['kind'], text: string): Promise<PendingMessage> {
    const info = this.stmts.addMessage.run(key, kind, text);
    return { id: Number(info.lastInsertRowid), key, kind, text };
  }

  private peekSync(key: string, kind: PendingMessage['kind']): PendingMessage[] {
    const rows = this.stmts.pendingMessages.all(key, kind) as { id: number; task_id: string; kind: PendingMessage['kind']; text: string }[];
    return rows.map((r) => ({ id: r.id, key: r.task_id, kind: r.kind, text: r.text }));
  }

  async peekMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]> {
    return this.peekSync(key, kind);
  }

  async takeMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]> {
    return this.db.transaction(() => {
      const rows = this.peekSync(key, kind);
      if (rows.length) this.stmts.consumeMessages.run(key, kind, rows[rows.length - 1]!.id);
      return rows;
    })();
  }

  async deleteTask(id: string, actor: string | null = null): Promise<TaskEvent> {
    return this.commit(() => {
      this.stmts.deleteTask.run(id);
      const events = this.insertEvents([{ type: 'task.deleted', taskId: id, actor }]);
      return { result: events[0]!, events };
    });
  }

  async putBlob(key: string, data: Buffer): Promise<void> {
    this.stmts.putBlob.run(key, data);
  }

  async getBlob(key: string): Promise<Buffer | undefined> {
    const row = this.stmts.getBlob.get(key) as { data: Buffer } | undefined;
    return row?.data;
  }

  async deleteBlobs(prefix: string): Promise<void> {
    this.stmts.deleteBlobs.run(prefix, prefix);
  }

  async addBundleOwner(bundleId: string, login: string | null): Promise<void> {
    this.stmts.addOwner.run(bundleId, login ?? ADMIN);
  }

  async bundleOwners(bundleId: string): Promise<(string | null)[]> {
    return (this.stmts.owners.all(bundleId) as { login: string }[]).map((r) => (r.login === ADMIN ? null : r.login));
  }

  async heartbeat(node: NodeInfo): Promise<{ lost: Guard[] }> {
    this.node = { ...node, seenAt: new Date().toISOString() };
    return { lost: [] };
  }

  async liveNodes(staleMs: number): Promise<NodeInfo[]> {
    const node = this.node;
    return node?.seenAt && Date.now() - Date.parse(node.seenAt) < staleMs ? [node] : [];
  }

  claimQueued(): Promise<Claim | null> {
    return Promise.reject(unsupported('claimQueued'));
  }

  claimExpired(): Promise<(Claim & { previousNode: string }) | null> {
    return Promise.reject(unsupported('claimExpired'));
  }

  async releaseLease(): Promise<void> {
    // One node: nobody else could take the attempt, so there is no lease to give back.
  }

  requeue(): Promise<boolean> {
    return Promise.reject(unsupported('requeue'));
  }

  async notify(channel: string, payload: string): Promise<void> {
    this.channels.emit(channel, payload);
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => void> {
    this.channels.on(channel, fn);
    return () => this.channels.off(channel, fn);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** A negative cause names an event earlier in the same batch (see Store); it is stored as that event's seq. */
function batchCause(cause: number | undefined, earlier: TaskEvent[]): { cause?: number } {
  if (cause === undefined || cause >= 0) return {};
  const target = earlier[earlier.length + cause];
  if (!target) throw new Error(`cause ${cause} points before the start of its batch`);
  return { cause: target.seq };
}
