// The fleet's store: PostgreSQL shared by every node (--database-url). Tasks and attempts are JSON
// documents like SQLite's, with the columns the queue needs beside them. Writes that must not
// interleave lock the task row first (then its attempts: always in that order). The event log and
// its feed are in pgEvents.ts, the queue and leases in pgFleet.ts, migrations in pgSchema.ts.
import type pg from 'pg';
import type { NewEvent, RepoSpec, Task, TaskEvent } from '../../../protocol';
import { Db, Listener, scrub, type DbOptions } from './pgDb';
import { EVENTS_CHANNEL, EventFeed, eventsSince, insertEvents } from './pgEvents';
import * as fleet from './pgFleet';
import { migrate, MIGRATIONS } from './pgSchema';
import { LeaseLostError, type AttemptRecord, type AttemptTaskDerive, type Claim, type Guard, type NodeInfo, type PendingMessage, type Store } from './types';

type Client = pg.PoolClient;
interface AttemptRow {
  data: AttemptRecord;
  node: string | null;
  fence: string;
  lease_until: Date | null;
}
const ATTEMPT_COLUMNS = 'data, node, fence, lease_until';
/** Kept in columns, not in the document. */
const LEASE_FIELDS = ['node', 'fence', 'leaseUntil'] as const;

function attemptOf(r: AttemptRow): AttemptRecord {
  return { ...r.data, node: r.node, fence: Number(r.fence), leaseUntil: r.lease_until ? r.lease_until.toISOString() : null };
}

/** The store could not be opened: the node must not start (the message names the database, never its password). */
export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

export interface PostgresStoreOptions extends DbOptions {
  /** For tests: a node built with other migrations (another schema version). */
  migrations?: string[];
  log?: (message: string, err: Error) => void;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private pruneTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly db: Db,
    private readonly listener: Listener,
    private readonly feed: EventFeed,
  ) {}

  /** Connects, migrates (or refuses an older node) and starts following the event log. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const report = (message: string) => (err: Error) => options.log?.(message, err);
    const db = new Db(url, { ...options, onError: report('database connection error') });
    try {
      const client = await db.pool.connect().catch((err: Error) => {
        throw new StoreOpenError(`cannot connect to the database at ${db.where}: ${scrub(err.message || String(err), url)}`, { cause: err });
      });
      try {
        await migrate(client, options.migrations ?? MIGRATIONS);
      } catch (err) {
        throw new StoreOpenError(`the database at ${db.where}: ${scrub((err as Error).message, url)}`, { cause: err });
      } finally {
        client.release();
      }
      const last = Number((await db.query<{ last: string }>('SELECT last FROM event_seq')).rows[0]!.last);
      const feed = new EventFeed(db, last, report('could not read the event log'));
      const listener = new Listener(url, () => feed.wake(), report('event listener connection error'));
      const store = new PostgresStore(db, listener, feed);
      await listener.start();
      await listener.listen(EVENTS_CHANNEL, (payload) => feed.wake(Number(payload) || undefined));
      store.pruneTimer = setInterval(() => void db.query(`DELETE FROM delegate_commits WHERE at < now() - interval '1 hour'`).catch(() => undefined), 10 * 60_000);
      store.pruneTimer.unref();
      return store;
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /** Runs a write transaction; then this node's feed reads what it committed at once. */
  private async write<T>(fn: (c: Client) => Promise<{ result: T; events: TaskEvent[] }>): Promise<T> {
    const { result, events } = await this.db.tx(fn);
    if (events.length > 0) this.feed.wake(events[events.length - 1]!.seq);
    return result;
  }

  private async checkGuard(c: Client, guard: Guard | undefined): Promise<void> {
    if (!guard) return;
    const { rows } = await c.query<{ fence: string }>('SELECT fence FROM attempts WHERE key = $1 FOR SHARE', [guard.key]);
    const fence = rows[0] ? Number(rows[0].fence) : undefined;
    if (fence !== guard.fence) throw new LeaseLostError(guard, fence);
  }

  private async lockTask(c: Client, id: string): Promise<Task> {
    const { rows } = await c.query<{ data: Task }>('SELECT data FROM tasks WHERE id = $1 AND NOT deleted FOR UPDATE', [id]);
    if (!rows[0]) throw new Error(`no task ${id}`);
    return rows[0].data;
  }

  private async updateTaskIn(c: Client, current: Task, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[]): Promise<{ task: Task; events: TaskEvent[] }> {
    const task: Task = { ...current, ...patch, updatedAt: new Date().toISOString() };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete (task as Record<string, unknown>)[k];
    await c.query('UPDATE tasks SET data = $2 WHERE id = $1', [task.id, task]);
    return { task, events: await insertEvents(c, events ? events(task, current) : []) };
  }

  private async updateAttemptIn(c: Client, taskId: string, index: number, patch: Partial<AttemptRecord>): Promise<void> {
    const { rows } = await c.query<{ data: AttemptRecord }>('SELECT data FROM attempts WHERE task_id = $1 AND idx = $2 FOR UPDATE', [taskId, index]);
    if (!rows[0]) throw new Error(`no attempt ${taskId}#${index}`);
    const next: Record<string, unknown> = { ...rows[0].data, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete next[k];
    for (const k of LEASE_FIELDS) delete next[k];
    const status = patch.status ?? null;
    await c.query(
      `UPDATE attempts SET data = $3, status = coalesce($4, status),
         queued_at = CASE WHEN $4 = 'queued' AND status <> 'queued' THEN now() ELSE queued_at END
       WHERE task_id = $1 AND idx = $2`,
      [taskId, index, next, status],
    );
  }

  private async attemptsIn(c: Client | Db, taskId: string): Promise<AttemptRecord[]> {
    const run = (text: string, values: unknown[]) => (c instanceof Db ? c.query<AttemptRow>(text, values) : c.query<AttemptRow>(text, values));
    const { rows } = await run(`SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE task_id = $1 ORDER BY idx`, [taskId]);
    return rows.map(attemptOf);
  }

  async createTask(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): Promise<TaskEvent> {
    return this.write(async (c) => {
      await c.query('INSERT INTO tasks (id, created_at, data, owner) VALUES ($1, $2, $3, $4)', [task.id, task.createdAt, task, task.owner ?? null]);
      await c.query('INSERT INTO repo_specs (task_id, data) VALUES ($1, $2)', [task.id, repoSpec]);
      for (const a of attempts) {
        const data: Record<string, unknown> = { ...a };
        for (const k of LEASE_FIELDS) delete data[k];
        await c.query('INSERT INTO attempts (task_id, idx, key, status, data) VALUES ($1, $2, $3, $4, $5)', [a.taskId, a.index, a.workspaceKey, a.status, data]);
      }
      const events = await insertEvents(c, [{ type: 'task.created', taskId: task.id, task, actor: task.owner ?? null }]);
      return { result: events[0]!, events };
    });
  }

  async getRepoSpec(taskId: string): Promise<RepoSpec | undefined> {
    const { rows } = await this.db.query<{ data: RepoSpec }>('SELECT data FROM repo_specs WHERE task_id = $1', [taskId]);
    return rows[0]?.data;
  }

  async getTask(id: string): Promise<Task | undefined> {
    const { rows } = await this.db.query<{ data: Task }>('SELECT data FROM tasks WHERE id = $1 AND NOT deleted', [id]);
    return rows[0]?.data;
  }

  async taskOwner(id: string): Promise<string | null | undefined> {
    const { rows } = await this.db.query<{ owner: string | null }>('SELECT owner FROM tasks WHERE id = $1', [id]);
    return rows[0] ? rows[0].owner : undefined;
  }

  async listTasks(): Promise<Task[]> {
    const { rows } = await this.db.query<{ data: Task }>('SELECT data FROM tasks WHERE NOT deleted ORDER BY created_at, ord');
    return rows.map((r) => r.data);
  }

  async updateTask(id: string, patch: Partial<Task>, events?: (task: Task, before: Task) => NewEvent[], guard?: Guard): Promise<{ task: Task; events: TaskEvent[] }> {
    return this.write(async (c) => {
      const current = await this.lockTask(c, id);
      await this.checkGuard(c, guard);
      const result = await this.updateTaskIn(c, current, patch, events);
      return { result, events: result.events };
    });
  }

  async appendEvents(events: NewEvent[], guard?: Guard): Promise<TaskEvent[]> {
    if (events.length === 0) return [];
    return this.write(async (c) => {
      await this.checkGuard(c, guard);
      const stored = await insertEvents(c, events);
      return { result: stored, events: stored };
    });
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return this.attemptsIn(this.db, taskId);
  }

  async updateAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>, guard?: Guard): Promise<AttemptRecord> {
    return this.write(async (c) => {
      await this.checkGuard(c, guard);
      await this.updateAttemptIn(c, taskId, index, patch);
      const { rows } = await c.query<AttemptRow>(`SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE task_id = $1 AND idx = $2`, [taskId, index]);
      return { result: attemptOf(rows[0]!), events: [] };
    });
  }

  async updateAttemptAndTask(taskId: string, index: number, patch: Partial<AttemptRecord>, derive: AttemptTaskDerive, guard?: Guard): Promise<{ task: Task; events: TaskEvent[]; attempts: AttemptRecord[] }> {
    return this.write(async (c) => {
      const current = await this.lockTask(c, taskId);
      await this.checkGuard(c, guard);
      await this.updateAttemptIn(c, taskId, index, patch);
      const attempts = await this.attemptsIn(c, taskId);
      const next = derive(attempts, current);
      const { task, events } = await this.updateTaskIn(c, current, next.patch, next.events);
      return { result: { task, events, attempts }, events };
    });
  }

  eventsSince(since: number, limit: number, taskIds?: ReadonlySet<string>): Promise<TaskEvent[]> {
    return eventsSince(this.db, since, limit, taskIds);
  }

  async lastSeq(): Promise<number> {
    const { rows } = await this.db.query<{ last: string }>('SELECT last FROM event_seq');
    return Number(rows[0]!.last);
  }

  onEvents(listener: (events: readonly TaskEvent[]) => void): () => void {
    return this.feed.subscribe(listener);
  }

  async addMessage(key: string, kind: PendingMessage['kind'], text: string): Promise<PendingMessage> {
    const { rows } = await this.db.tx((c) => c.query<{ id: string }>('INSERT INTO messages (key, kind, text) VALUES ($1, $2, $3) RETURNING id', [key, kind, text]));
    return { id: Number(rows[0]!.id), key, kind, text };
  }

  async peekMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]> {
    const { rows } = await this.db.query<{ id: string; text: string }>('SELECT id, text FROM messages WHERE key = $1 AND kind = $2 AND NOT consumed ORDER BY id', [key, kind]);
    return rows.map((r) => ({ id: Number(r.id), key, kind, text: r.text }));
  }

  async takeMessages(key: string, kind: PendingMessage['kind']): Promise<PendingMessage[]> {
    const { rows } = await this.db.tx((c) =>
      c.query<{ id: string; text: string }>(
        `UPDATE messages SET consumed = TRUE WHERE id IN (
           SELECT id FROM messages WHERE key = $1 AND kind = $2 AND NOT consumed FOR UPDATE
         ) RETURNING id, text`,
        [key, kind],
      ),
    );
    return rows.map((r) => ({ id: Number(r.id), key, kind, text: r.text })).sort((a, b) => a.id - b.id);
  }

  async deleteTask(id: string, actor: string | null = null): Promise<TaskEvent> {
    return this.write(async (c) => {
      await c.query('UPDATE tasks SET deleted = TRUE WHERE id = $1', [id]);
      const events = await insertEvents(c, [{ type: 'task.deleted', taskId: id, actor }]);
      return { result: events[0]!, events };
    });
  }

  async putBlob(key: string, data: Buffer): Promise<void> {
    await this.db.query('INSERT INTO blobs (key, data) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET data = excluded.data', [key, data]);
  }

  async getBlob(key: string): Promise<Buffer | undefined> {
    const { rows } = await this.db.query<{ data: Buffer }>('SELECT data FROM blobs WHERE key = $1', [key]);
    return rows[0]?.data;
  }

  async deleteBlobs(prefix: string): Promise<void> {
    await this.db.query('DELETE FROM blobs WHERE starts_with(key, $1)', [prefix]);
  }

  async addBundleOwner(bundleId: string, login: string | null): Promise<void> {
    // '' stands for the admin (null is not a key).
    await this.db.query('INSERT INTO bundle_owners (bundle_id, login) VALUES ($1, $2) ON CONFLICT DO NOTHING', [bundleId, login ?? '']);
  }

  async bundleOwners(bundleId: string): Promise<(string | null)[]> {
    const { rows } = await this.db.query<{ login: string }>('SELECT login FROM bundle_owners WHERE bundle_id = $1 ORDER BY login', [bundleId]);
    return rows.map((r) => (r.login === '' ? null : r.login));
  }

  heartbeat(node: NodeInfo, leaseMs: number, held: readonly Guard[] = []): Promise<{ lost: Guard[] }> {
    return fleet.heartbeat(this.db, node, leaseMs, held);
  }

  liveNodes(staleMs: number): Promise<NodeInfo[]> {
    return fleet.liveNodes(this.db, staleMs);
  }

  claimQueued(nodeId: string, leaseMs: number, maxPerUser: number): Promise<Claim | null> {
    return fleet.claimQueued(this.db, nodeId, leaseMs, maxPerUser);
  }

  claimExpired(nodeId: string, leaseMs: number): Promise<(Claim & { previousNode: string }) | null> {
    return fleet.claimExpired(this.db, nodeId, leaseMs);
  }

  releaseLease(guard: Guard): Promise<void> {
    return fleet.releaseLease(this.db, guard);
  }

  requeue(guard: Guard): Promise<boolean> {
    return fleet.requeue(this.db, guard);
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.db.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  listen(channel: string, fn: (payload: string) => void): Promise<() => void> {
    return this.listener.listen(channel, fn);
  }

  /** For tests and the bench: resolves once the feed has handed out every event up to `seq`. */
  caughtUp(seq: number): Promise<void> {
    return this.feed.caughtUp(seq);
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.feed.close();
    await this.listener.close();
    await this.db.close();
  }
}
