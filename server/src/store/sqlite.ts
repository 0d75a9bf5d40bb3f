// SQLite store (better-sqlite3, WAL). Synchronous by design: an event is committed before the
// caller can publish it, and there is no await between a state change and its event.
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { NewEvent, RepoSpec, Task, TaskEvent } from '../../../protocol';
import type { AttemptRecord, PendingMessage, Store } from './types';

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
];

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmts;

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
      insertAttempt: this.db.prepare('INSERT INTO attempts (task_id, idx, data) VALUES (?, ?, ?)'),
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

  createTask(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): TaskEvent {
    return this.db.transaction(() => {
      this.stmts.insertTask.run(task.id, task.createdAt, JSON.stringify(task), task.owner ?? null);
      this.stmts.insertSpec.run(task.id, JSON.stringify(repoSpec));
      for (const a of attempts) this.stmts.insertAttempt.run(a.taskId, a.index, JSON.stringify(a));
      return this.insertEvents([{ type: 'task.created', taskId: task.id, task, actor: task.owner ?? null }])[0]!;
    })();
  }

  getRepoSpec(taskId: string): RepoSpec | undefined {
    const row = this.stmts.getSpec.get(taskId) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as RepoSpec) : undefined;
  }

  getTask(id: string): Task | undefined {
    const row = this.stmts.getTask.get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Task) : undefined;
  }

  taskOwner(id: string): string | null | undefined {
    const row = this.stmts.taskOwner.get(id) as { owner: string | null } | undefined;
    return row ? row.owner : undefined;
  }

  listTasks(): Task[] {
    return (this.stmts.listTasks.all() as { data: string }[]).map((r) => JSON.parse(r.data) as Task);
  }

  updateTask(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[]): { task: Task; events: TaskEvent[] } {
    return this.db.transaction(() => {
      const current = this.getTask(id);
      if (!current) throw new Error(`no task ${id}`);
      const task: Task = { ...current, ...patch, updatedAt: new Date().toISOString() };
      for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (task as Record<string, unknown>)[k];
      this.stmts.updateTask.run(JSON.stringify(task), id);
      return { task, events: this.insertEvents(events ? events(task, current) : []) };
    })();
  }

  appendEvents(events: NewEvent[]): TaskEvent[] {
    if (events.length === 0) return [];
    return this.db.transaction(() => this.insertEvents(events))();
  }

  getAttempts(taskId: string): AttemptRecord[] {
    return (this.stmts.getAttempts.all(taskId) as { data: string }[]).map((r) => JSON.parse(r.data) as AttemptRecord);
  }

  updateAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>): AttemptRecord {
    return this.db.transaction(() => {
      const row = this.stmts.getAttempt.get(taskId, index) as { data: string } | undefined;
      if (!row) throw new Error(`no attempt ${taskId}#${index}`);
      const next = { ...(JSON.parse(row.data) as AttemptRecord), ...patch };
      for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (next as unknown as Record<string, unknown>)[k];
      this.stmts.updateAttempt.run(JSON.stringify(next), taskId, index);
      return next;
    })();
  }

  eventsSince(since: number, limit: number, taskIds?: ReadonlySet<string>): TaskEvent[] {
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

  lastSeq(): number {
    const row = this.stmts.lastSeq.get() as { seq: number } | undefined;
    return row ? Number(row.seq) : 0;
  }

  addMessage(key: string, kind: PendingMessage['kind'], text: string): PendingMessage {
    const info = this.stmts.addMessage.run(key, kind, text);
    return { id: Number(info.lastInsertRowid), key, kind, text };
  }

  peekMessages(key: string, kind: PendingMessage['kind']): PendingMessage[] {
    const rows = this.stmts.pendingMessages.all(key, kind) as { id: number; task_id: string; kind: PendingMessage['kind']; text: string }[];
    return rows.map((r) => ({ id: r.id, key: r.task_id, kind: r.kind, text: r.text }));
  }

  takeMessages(key: string, kind: PendingMessage['kind']): PendingMessage[] {
    return this.db.transaction(() => {
      const rows = this.peekMessages(key, kind);
      if (rows.length) this.stmts.consumeMessages.run(key, kind, rows[rows.length - 1]!.id);
      return rows;
    })();
  }

  deleteTask(id: string, actor: string | null = null): TaskEvent {
    return this.db.transaction(() => {
      this.stmts.deleteTask.run(id);
      return this.insertEvents([{ type: 'task.deleted', taskId: id, actor }])[0]!;
    })();
  }

  close(): void {
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
