// The fleet's one event log: gapless, and in the same order for every reader on every node.
//
// Why seq does not come from a SEQUENCE (or BIGSERIAL): two transactions take seq 7 and 8, and 8
// commits first. A reader that asks "seq > 6" in between sees 8, moves its cursor to 8 and never
// sees 7. So the seq is taken from the one-row counter event_seq with an UPDATE, as the last
// statement before COMMIT: the row lock it takes is held until the transaction ends, so a second
// writer waits on it and gets the next numbers only once the first one committed (or rolled back,
// giving its numbers back). Commit order is seq order; a reader never sees a seq before all the
// smaller ones. The cost is that event writes queue on that row for the length of one commit.
//
// After COMMIT, PostgreSQL delivers the NOTIFY (delegate_events, the last seq) to every node; each
// node then reads the log from the last seq it delivered and hands the events to its bus in order
// (EventFeed), its own writes included, so every node has one ordered stream.
import type pg from 'pg';
import type { NewEvent, TaskEvent } from '../../../protocol';
import type { Db } from './pgDb';

export const EVENTS_CHANNEL = 'delegate_events';

/** Appends `events` (the transaction's last statements) and notifies on commit. */
export async function insertEvents(client: pg.ClientBase, events: NewEvent[]): Promise<TaskEvent[]> {
  if (events.length === 0) return [];
  const { rows } = await client.query<{ last: string }>('UPDATE event_seq SET last = last + $1 RETURNING last', [events.length]);
  const last = Number(rows[0]!.last);
  const first = last - events.length + 1;
  const at = new Date().toISOString();
  const stored: TaskEvent[] = [];
  events.forEach((e, i) => {
    const seq = first + i;
    const event = { ...e, ...batchCause(e.cause, stored) };
    stored.push({ ...event, seq, at });
  });
  // The rows and the notification in one statement: the counter's lock is held for one round trip less.
  await client.query(
    `WITH rows AS (INSERT INTO events (seq, task_id, type, data) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]))
     SELECT pg_notify($5, $6)`,
    [stored.map((e) => e.seq), stored.map((e) => e.taskId), stored.map((e) => e.type), stored.map(({ seq: _seq, ...rest }) => JSON.stringify(rest)), EVENTS_CHANNEL, String(last)],
  );
  return stored;
}

/** A negative cause names an event earlier in the same batch (see Store); it is stored as that event's seq. */
function batchCause(cause: number | undefined, earlier: TaskEvent[]): { cause?: number } {
  if (cause === undefined || cause >= 0) return {};
  const target = earlier[earlier.length + cause];
  if (!target) throw new Error(`cause ${cause} points before the start of its batch`);
  return { cause: target.seq };
}

export async function eventsSince(db: Db, since: number, limit: number, taskIds?: ReadonlySet<string>): Promise<TaskEvent[]> {
  const { rows } = taskIds
    ? await db.query<{ seq: string; data: string }>('SELECT seq, data FROM events WHERE seq > $1 AND task_id = ANY($2) ORDER BY seq LIMIT $3', [since, [...taskIds], limit])
    : await db.query<{ seq: string; data: string }>('SELECT seq, data FROM events WHERE seq > $1 ORDER BY seq LIMIT $2', [since, limit]);
  return rows.map((r) => ({ ...(JSON.parse(r.data) as object), seq: Number(r.seq) }) as TaskEvent);
}

/**
 * Reads the log after the last delivered seq whenever told to (a notification, a commit of this
 * node, a reconnect, a slow timer for safety) and hands the events to the listeners in order, each
 * once. One read at a time; a wake-up during a read makes it read again.
 */
export class EventFeed {
  private readonly listeners = new Set<(events: readonly TaskEvent[]) => void>();
  private delivered: number;
  private reading: Promise<void> | undefined;
  private again = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    from: number,
    private readonly onError: (err: Error) => void,
    pageSize = 500,
    safetyMs = 1_000,
  ) {
    this.delivered = from;
    this.pageSize = pageSize;
    this.timer = setInterval(() => this.wake(), safetyMs);
    this.timer.unref();
  }

  private readonly pageSize: number;

  subscribe(listener: (events: readonly TaskEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Something was committed (up to `seq`, when known): read on. */
  wake(seq?: number): void {
    if (seq !== undefined && seq <= this.delivered) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Resolves once every event up to `seq` has been handed to the listeners. */
  async caughtUp(seq: number): Promise<void> {
    while (this.delivered < seq) {
      this.wake();
      await (this.reading ?? Promise.resolve());
      if (this.delivered < seq) await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private async read(): Promise<void> {
    try {
      for (;;) {
        const page = await eventsSince(this.db, this.delivered, this.pageSize);
        if (page.length === 0) return;
        this.delivered = page[page.length - 1]!.seq;
        for (const listener of this.listeners) listener(page);
        if (page.length < this.pageSize) return;
      }
    } catch (err) {
      this.onError(err as Error);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
