// The fleet's connection to PostgreSQL: a pool for queries and transactions that rides out the
// database going away (bounded retries, then the caller's write fails), and exactly-once commits:
// every write transaction records its id, so a commit whose answer was lost with the connection is
// looked up instead of being run twice.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** Where the database is, for messages: never the password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || ''}`;
  } catch {
    return 'the database URL (unparseable)';
  }
}

/** A PostgreSQL or network error after which the statement surely did not take effect, or the connection is gone. */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  // 08: connection exception; 57P01-03: shutdown / cannot connect now; 40001/40P01: retry the transaction.
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '40001', '40P01', '53300'].includes(code)) return true;
  return /Connection terminated|connection (is )?closed|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(e?.message ?? '');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface DbOptions {
  /** How long a query or transaction keeps retrying while the database is unreachable (default 60 s). */
  retryMs?: number;
  poolSize?: number;
  onError?: (err: Error) => void;
}

export class Db {
  readonly pool: pg.Pool;
  readonly where: string;
  private readonly retryMs: number;
  private closed = false;

  constructor(
    readonly url: string,
    options: DbOptions = {},
  ) {
    this.where = describeUrl(url);
    this.retryMs = options.retryMs ?? 60_000;
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      // A connection cut without a word (a network partition) is noticed on both sides: here by
      // keepalives and a bound on every statement, there by ending a transaction left idle, which
      // frees its locks (a retry waits on them, see tx).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      query_timeout: 120_000,
      options: '-c idle_in_transaction_session_timeout=30000',
    });
    // An idle client whose server went away: the pool drops it; the next checkout reconnects.
    this.pool.on('error', (err) => options.onError?.(err));
  }

  /** One statement, retried (bounded) while the database is unreachable. Reads, and idempotent writes. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.retrying(() => this.pool.query<R>(text, values));
  }

  /**
   * `fn` in one transaction, committed exactly once. The database going away before COMMIT rolled
   * it back: it runs again from the start. Going away during COMMIT leaves it unknown: the retry's
   * first statement inserts the same id, which waits for the old transaction to end (its row is
   * locked until then) and fails as a duplicate exactly when it committed: then its result stands.
   * `fn` may run more than once: it must not have effects outside the transaction.
   */
  async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const id = randomUUID();
    const deadline = Date.now() + this.retryMs;
    let unknown: { result: T } | undefined;
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        await this.backoff(err, deadline, attempt);
        continue;
      }
      // A checked-out client whose connection breaks also emits 'error': the query's own failure
      // (below) is what counts, so the event must not go unhandled.
      const ignore = () => undefined;
      client.on('error', ignore);
      const release = (err?: Error) => {
        client.off('error', ignore);
        client.release(err);
      };
      let committing = false;
      let result: T | undefined;
      try {
        // One round trip for both (the id is ours, a UUID: safe as a literal in a simple query).
        const begun = (await client.query(`BEGIN; INSERT INTO delegate_commits (id) VALUES ('${id}') ON CONFLICT DO NOTHING`)) as unknown as pg.QueryResult[];
        if (begun[1]!.rowCount === 0 && unknown) {
          await client.query('ROLLBACK');
          release();
          return unknown.result;
        }
        result = await fn(client);
        committing = true;
        await client.query('COMMIT');
        release();
        return result;
      } catch (err) {
        if (!isTransient(err)) {
          await client.query('ROLLBACK').catch(() => undefined);
          release();
          throw err;
        }
        release(err as Error);
        if (committing) unknown = { result: result as T };
        await this.backoff(err, deadline, attempt);
      }
    }
  }

  private async retrying<T>(run: () => Promise<T>, deadline = Date.now() + this.retryMs): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        if (!isTransient(err)) throw err;
        await this.backoff(err, deadline, attempt);
      }
    }
  }

  private async backoff(err: unknown, deadline: number, attempt: number): Promise<void> {
    if (this.closed || Date.now() >= deadline) {
      throw new Error(`the database at ${this.where} is unreachable: ${scrub((err as Error).message, this.url)}`, { cause: err });
    }
    await sleep(Math.min(50 * 2 ** attempt, 1_000));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.end();
  }
}

/** The password of `url`, wherever an error message might repeat it, replaced. */
export function scrub(message: string, url: string): string {
  let password = '';
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return message;
  }
  return password ? message.split(password).join('***') : message;
}

/**
 * A dedicated connection for LISTEN (a pooled one would lose its subscriptions), reconnected with
 * its channels when the database comes back; `onReconnect` lets the caller read what it missed.
 */
export class Listener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly onReconnect: () => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    await this.connect();
  }

  async listen(channel: string, fn: (payload: string) => void): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.client?.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch((err: Error) => this.onError(err));
    }
    set.add(fn);
    return () => set.delete(fn);
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5_000, keepAlive: true });
      client.on('notification', (n) => {
        for (const fn of this.handlers.get(n.channel) ?? []) fn(n.payload ?? '');
      });
      client.on('error', (err) => {
        this.onError(err);
        this.lost(client);
      });
      client.on('end', () => this.lost(client));
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.client = client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.connect();
        this.onReconnect();
        return;
      } catch (err) {
        this.onError(err as Error);
        await sleep(Math.min(100 * 2 ** attempt, 2_000));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
