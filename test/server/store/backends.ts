// The two stores the behaviour suite runs against: SQLite (a file in a temp dir) and PostgreSQL (a
// private cluster, one database per store). `reopen` opens the same data again, as a restarted
// node (or another node of the fleet) would.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_USAGE, type Task } from '../../../protocol';
import { PostgresStore } from '../../../server/src/store/postgres';
import { SqliteStore } from '../../../server/src/store/sqlite';
import type { AttemptRecord, Store } from '../../../server/src/store/types';
import { startPostgres, type TestPostgres } from '../../support/postgres';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store; `reopen` opens its data again. */
  fresh(): Promise<{ store: Store; reopen(): Promise<Store> }>;
  close(): Promise<void>;
}

export function sqliteBackend(): Backend {
  return {
    name: 'sqlite',
    async fresh() {
      const file = join(mkdtempSync(join(tmpdir(), 'delegate-store-')), 'db.sqlite');
      return { store: new SqliteStore(file), reopen: async () => new SqliteStore(file) };
    },
    async close() {},
  };
}

export function postgresBackend(): Backend {
  let cluster: Promise<TestPostgres> | undefined;
  let n = 0;
  return {
    name: 'postgres',
    async fresh() {
      cluster ??= startPostgres();
      const url = await (await cluster).createDatabase(`store_${++n}`);
      return { store: await PostgresStore.open(url), reopen: () => PostgresStore.open(url) };
    },
    async close() {
      await (await cluster)?.stop();
    },
  };
}

export function task(id: string, owner: string | null = null): Task {
  const now = new Date().toISOString();
  return { id, status: 'queued', prompt: 'p', repo: { kind: 'local', name: 'r', path: '/r' }, options: {}, createdAt: now, updatedAt: now, usage: EMPTY_USAGE, changedFiles: [], owner };
}

export function attempt(taskId: string, index = 0, key = taskId): AttemptRecord {
  return { taskId, index, status: 'queued', workspaceKey: key, history: [], usage: EMPTY_USAGE, changedFiles: [] };
}

/** Creates a task with `attempts` attempts (keys `id` for one, `id-i` for more). */
export async function seed(store: Store, id: string, options: { owner?: string | null; attempts?: number } = {}): Promise<void> {
  const count = options.attempts ?? 1;
  const records = Array.from({ length: count }, (_, i) => attempt(id, i, count > 1 ? `${id}-${i}` : id));
  await store.createTask(task(id, options.owner ?? null), records, { kind: 'local', path: '/r' });
}
