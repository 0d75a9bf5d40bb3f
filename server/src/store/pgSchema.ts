// The fleet's PostgreSQL schema, versioned like the SQLite one: MIGRATIONS[v] takes version v to
// v+1. Nodes that start together migrate exactly once: the check and the migrations run in one
// transaction under an advisory lock. A node older than the database refuses to start.
import type pg from 'pg';

/** pg_advisory_xact_lock keys (arbitrary, fixed): schema migrations and queue claims. */
export const LOCK_MIGRATE = 0x64656c01;
export const LOCK_CLAIM = 0x64656c02;

export const MIGRATIONS: string[] = [
  `CREATE TABLE tasks (
     id TEXT PRIMARY KEY,
     ord BIGSERIAL NOT NULL,
     created_at TEXT NOT NULL,
     deleted BOOLEAN NOT NULL DEFAULT FALSE,
     owner TEXT,
     data JSONB NOT NULL
   );
   CREATE INDEX tasks_order ON tasks (created_at, ord) WHERE NOT deleted;
   CREATE TABLE repo_specs (task_id TEXT PRIMARY KEY REFERENCES tasks (id), data JSONB NOT NULL);
   CREATE TABLE attempts (
     task_id TEXT NOT NULL REFERENCES tasks (id),
     idx INTEGER NOT NULL,
     key TEXT NOT NULL UNIQUE,
     status TEXT NOT NULL,
     -- The node holding the attempt's lease, its fence (raised by every claim) and the lease's end.
     node TEXT,
     fence BIGINT NOT NULL DEFAULT 0,
     lease_until TIMESTAMPTZ,
     queued_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     data JSONB NOT NULL,
     PRIMARY KEY (task_id, idx)
   );
   CREATE INDEX attempts_queue ON attempts (queued_at) WHERE status = 'queued' AND node IS NULL;
   CREATE INDEX attempts_held ON attempts (node) WHERE node IS NOT NULL;
   CREATE TABLE messages (
     id BIGSERIAL PRIMARY KEY,
     key TEXT NOT NULL,
     kind TEXT NOT NULL,
     text TEXT NOT NULL,
     consumed BOOLEAN NOT NULL DEFAULT FALSE
   );
   CREATE INDEX messages_pending ON messages (key, kind, id) WHERE NOT consumed;
   -- seq comes from event_seq, never from a sequence: see pgEvents.ts.
   CREATE TABLE events (seq BIGINT PRIMARY KEY, task_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
   CREATE INDEX events_task ON events (task_id, seq);
   CREATE TABLE event_seq (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), last BIGINT NOT NULL);
   INSERT INTO event_seq (last) VALUES (0);
   CREATE TABLE blobs (key TEXT PRIMARY KEY, data BYTEA NOT NULL);
   CREATE TABLE bundle_owners (bundle_id TEXT NOT NULL, login TEXT NOT NULL, PRIMARY KEY (bundle_id, login));
   CREATE TABLE nodes (
     id TEXT PRIMARY KEY,
     seen_at TIMESTAMPTZ NOT NULL,
     max_parallel INTEGER NOT NULL,
     running INTEGER NOT NULL,
     url TEXT
   );`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
}

/**
 * Brings the database to SCHEMA_VERSION, or refuses (SchemaVersionError) when it is newer than
 * this node knows. `migrations` is for tests (a node of another version).
 */
export async function migrate(client: pg.ClientBase, migrations: string[] = MIGRATIONS): Promise<{ from: number; to: number }> {
  const needs = migrations.length;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
    // Commit ids (pgDb.ts's exactly-once commits) live outside the versioned schema: every write needs them.
    await client.query(`CREATE TABLE IF NOT EXISTS delegate_commits (id UUID PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())`);
    await client.query('CREATE TABLE IF NOT EXISTS delegate_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version INTEGER NOT NULL)');
    const row = await client.query<{ version: number }>('SELECT version FROM delegate_schema');
    const from = row.rows[0]?.version ?? 0;
    if (from > needs) {
      throw new SchemaVersionError(`the database's schema is version ${from}, newer than this node's: it needs schema version ${needs}; upgrade this node to the fleet's version`);
    }
    for (let v = from; v < needs; v++) await client.query(migrations[v]!);
    if (row.rows.length === 0) await client.query('INSERT INTO delegate_schema (version) VALUES ($1)', [needs]);
    else if (from !== needs) await client.query('UPDATE delegate_schema SET version = $1', [needs]);
    await client.query('COMMIT');
    return { from, to: needs };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
