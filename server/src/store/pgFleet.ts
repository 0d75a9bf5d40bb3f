// The fleet's queue and leases on PostgreSQL. An attempt is held by at most one node (attempts.node)
// until its lease (lease_until) runs out; every claim raises its fence, and a guarded write checks
// the fence in its own transaction (PostgresStore), so a node that lost an attempt cannot write to it.
import type { Claim, Guard, NodeInfo } from './types';
import type { Db } from './pgDb';
import { LOCK_CLAIM } from './pgSchema';

/**
 * An attempt that holds a slot on its node (waiting for the user, it gives the slot back). A held
 * attempt still 'queued' is one just claimed, before its node says 'preparing' (or answered and
 * waiting for its node's slot): it counts, or two nodes claiming at once both see room under the cap.
 */
const RUNNING = `('preparing', 'running', 'queued')`;
/** An attempt in the middle of a run; queued while held: answered, waiting for its node's slot. */
const MID_RUN = `('preparing', 'running', 'waiting_for_input', 'queued')`;

export async function heartbeat(db: Db, node: NodeInfo, leaseMs: number, held: readonly Guard[]): Promise<{ lost: Guard[] }> {
  return db.tx(async (c) => {
    await c.query(
      `INSERT INTO nodes (id, seen_at, max_parallel, running, url) VALUES ($1, now(), $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET seen_at = now(), max_parallel = $2, running = $3, url = $4`,
      [node.id, node.maxParallel, node.running, node.url ?? null],
    );
    if (held.length === 0) return { lost: [] };
    const { rows } = await c.query<{ key: string; fence: string }>(
      `UPDATE attempts a SET lease_until = now() + $2 * interval '1 millisecond'
       FROM unnest($3::text[], $4::bigint[]) AS h(key, fence)
       WHERE a.key = h.key AND a.fence = h.fence AND a.node = $1
       RETURNING a.key, a.fence`,
      [node.id, leaseMs, held.map((g) => g.key), held.map((g) => g.fence)],
    );
    const kept = new Set(rows.map((r) => `${r.key}\u0000${r.fence}`));
    return { lost: held.filter((g) => !kept.has(`${g.key}\u0000${g.fence}`)) };
  });
}

export async function liveNodes(db: Db, staleMs: number): Promise<NodeInfo[]> {
  const { rows } = await db.query<{ id: string; seen_at: Date; max_parallel: number; running: number; url: string | null }>(
    `SELECT id, seen_at, max_parallel, running, url FROM nodes WHERE seen_at > now() - $1 * interval '1 millisecond' ORDER BY id`,
    [staleMs],
  );
  return rows.map((r) => ({ id: r.id, seenAt: r.seen_at.toISOString(), maxParallel: r.max_parallel, running: r.running, ...(r.url ? { url: r.url } : {}) }));
}

/**
 * Fair between owners: the owner with the fewest running attempts across the fleet goes first
 * (oldest queued attempt first within that), and an owner at `maxPerUser` is skipped; the admin's
 * tasks (owner null) are not capped, as in the single-node scheduler. Claims take one advisory
 * lock for the length of their transaction: two nodes counting an owner's running attempts at the
 * same instant would both see room for one more.
 */
export async function claimQueued(db: Db, nodeId: string, leaseMs: number, maxPerUser: number): Promise<Claim | null> {
  return db.tx(async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_CLAIM]);
    const { rows } = await c.query<{ task_id: string; idx: number; key: string }>(
      `WITH running AS (
         SELECT t.owner, count(*) AS n FROM attempts a JOIN tasks t ON t.id = a.task_id
         WHERE a.node IS NOT NULL AND a.status IN ${RUNNING} GROUP BY t.owner
       )
       SELECT a.task_id, a.idx, a.key FROM attempts a
       JOIN tasks t ON t.id = a.task_id
       LEFT JOIN running r ON r.owner IS NOT DISTINCT FROM t.owner
       WHERE a.status = 'queued' AND a.node IS NULL AND NOT t.deleted
         AND (t.owner IS NULL OR coalesce(r.n, 0) < $1)
       ORDER BY coalesce(r.n, 0), a.queued_at, t.ord, a.idx
       LIMIT 1
       FOR UPDATE OF a SKIP LOCKED`,
      [maxPerUser],
    );
    const row = rows[0];
    if (!row) return null;
    const fence = await take(c, row.task_id, row.idx, nodeId, leaseMs);
    return { taskId: row.task_id, index: row.idx, key: row.key, fence };
  });
}

export async function claimExpired(db: Db, nodeId: string, leaseMs: number): Promise<(Claim & { previousNode: string }) | null> {
  return db.tx(async (c) => {
    // A holder that died after its attempt ended held nothing worth taking: let go.
    await c.query(`UPDATE attempts SET node = NULL, lease_until = NULL WHERE node IS NOT NULL AND lease_until < now() AND status NOT IN ${MID_RUN}`);
    const { rows } = await c.query<{ task_id: string; idx: number; key: string; node: string }>(
      `SELECT a.task_id, a.idx, a.key, a.node FROM attempts a JOIN tasks t ON t.id = a.task_id
       WHERE a.node IS NOT NULL AND a.lease_until < now() AND a.status IN ${MID_RUN} AND NOT t.deleted
       ORDER BY a.lease_until LIMIT 1
       FOR UPDATE OF a SKIP LOCKED`,
    );
    const row = rows[0];
    if (!row) return null;
    const fence = await take(c, row.task_id, row.idx, nodeId, leaseMs);
    return { taskId: row.task_id, index: row.idx, key: row.key, fence, previousNode: row.node };
  });
}

async function take(c: Parameters<Parameters<Db['tx']>[0]>[0], taskId: string, index: number, nodeId: string, leaseMs: number): Promise<number> {
  const { rows } = await c.query<{ fence: string }>(
    `UPDATE attempts SET node = $3, fence = fence + 1, lease_until = now() + $4 * interval '1 millisecond'
     WHERE task_id = $1 AND idx = $2 RETURNING fence`,
    [taskId, index, nodeId, leaseMs],
  );
  return Number(rows[0]!.fence);
}

export async function releaseLease(db: Db, guard: Guard): Promise<void> {
  await db.query('UPDATE attempts SET node = NULL, lease_until = NULL WHERE key = $1 AND fence = $2', [guard.key, guard.fence]);
}

/** In a transaction: committed once, so a lost answer does not turn a requeue into "not held". */
export async function requeue(db: Db, guard: Guard): Promise<boolean> {
  const r = await db.tx((c) => c.query(
    `UPDATE attempts SET node = NULL, lease_until = NULL, fence = fence + 1, status = 'queued', queued_at = now(),
       data = jsonb_set(data, '{status}', '"queued"')
     WHERE key = $1 AND fence = $2`,
    [guard.key, guard.fence],
  ));
  return (r.rowCount ?? 0) > 0;
}
