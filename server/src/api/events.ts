// GET /v1/events?since=N — WebSocket. Replays the log after N, then streams live. The store is the
// buffer: a client whose socket backs up stops receiving live events and catches up from the store
// once it drains, so a slow client never holds memory or stalls anyone else.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ClientFrame, PROTOCOL_VERSION, type ServerFrame, type TaskEvent } from '../../../protocol';
import type { EventBus } from '../eventBus';
import type { Logger } from '../log';
import type { Store } from '../store/types';
import { STATUS_CODES } from 'node:http';
import { ERROR_STATUS, type ErrorCode } from '../../../protocol';
import type { HostPolicy } from './hostPolicy';
import type { Authenticator } from './githubAuth';
import { bearer } from './http';
import { protocolToken } from './routes/webSocketToken';

export interface EventStreamOptions {
  store: Store;
  bus: EventBus;
  auth: Authenticator;
  /** Any task's owner, deleted ones included (null: the admin's; undefined: no such task). */
  ownerOf: (taskId: string) => Promise<string | null | undefined>;
  /** Host and Origin, checked before the token (see hostPolicy.ts). */
  hosts: HostPolicy;
  log: Logger;
  version: string;
  /** Stop pushing to a client above this many buffered bytes (default 1 MiB). */
  highWaterMark?: number;
  heartbeatMs?: number;
  /** Events per replay page (default 500). */
  pageSize?: number;
}

interface Client {
  ws: WebSocket;
  lastSent: number;
  /** Live events are not pushed; a catch-up from the store is pending or running. */
  catchingUp: boolean;
  /** The highest seq published while catching up: the catch-up reads on until it has it. */
  missed: number;
  filter: Set<string> | undefined;
  alive: boolean;
  /** A user's login: only their tasks' events are sent. Null: the admin, every event. */
  login: string | null;
}

export class EventStream {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly hwm: number;
  private readonly pageSize: number;
  /** Owners never change: remembered per task so a live event costs no store read per client. */
  private readonly owners = new Map<string, string | null | undefined>();

  constructor(private readonly options: EventStreamOptions) {
    this.hwm = options.highWaterMark ?? 1024 * 1024;
    this.pageSize = options.pageSize ?? 500;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024, perMessageDeflate: false });
    // A handshake ws itself refuses (method, Upgrade, key, version, protocol headers) gets the API's error body too.
    this.wss.on('wsClientError', (err, socket, req) => refuseUpgrade(socket, req.method === 'GET' ? 'bad_request' : 'method_not_allowed', `WebSocket handshake: ${err.message}`));
    this.unsubscribe = options.bus.subscribe((event) => {
      // Owners never change: a new task's owner comes with it, no store read needed later.
      if (event.type === 'task.created') this.owners.set(event.taskId, event.task.owner ?? null);
      for (const client of this.clients) this.onLive(client, event);
    });
    this.heartbeat = setInterval(() => {
      for (const client of this.clients) {
        if (!client.alive) {
          client.ws.terminate();
          continue;
        }
        client.alive = false;
        client.ws.ping();
      }
    }, options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Handle an HTTP upgrade for /v1/events; refuses anything else. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (code: ErrorCode, message: string) => refuseUpgrade(socket, code, message);
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refuse('bad_request', 'malformed URL');
    }
    const verdict = this.options.hosts.check(req);
    if (!verdict.ok) return refuse('forbidden', verdict.message);
    if (url.pathname !== '/v1/events') return refuse('not_found', `no route for ${url.pathname}`);
    // Browsers cannot set headers on a WebSocket: the token may come as a subprotocol (the web
    // page, see webSocketToken.ts) or as ?token= (other clients that cannot set headers).
    void this.options.auth.authenticate(bearer(req) ?? protocolToken(req) ?? url.searchParams.get('token')).then(
      (auth) => {
        if (!auth.ok) return refuse(auth.code, auth.message);
        if (socket.destroyed) return;
        const unknown = [...url.searchParams.keys()].find((k) => !['since', 'taskId', 'token'].includes(k));
        if (unknown !== undefined) return refuse('validation_failed', `${unknown}: unknown query parameter`);
        const since = Number(url.searchParams.get('since') ?? '0');
        if (!Number.isInteger(since) || since < 0) return refuse('bad_request', 'since must be a non-negative integer');
        const taskIds = url.searchParams.getAll('taskId').filter(Boolean);
        const login = auth.principal.kind === 'user' ? auth.principal.login : null;
        this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, since, taskIds.length ? new Set(taskIds) : undefined, login));
      },
      () => refuse('internal', 'internal server error'),
    );
  }

  private onConnection(ws: WebSocket, since: number, filter: Set<string> | undefined, login: string | null): void {
    const client: Client = { ws, lastSent: since, catchingUp: true, missed: 0, filter, alive: true, login };
    this.clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => this.onClientFrame(client, textOf(data), isBinary));
    void this.options.store.lastSeq().then(
      (lastSeq) => {
        this.send(client, { type: 'hello', protocolVersion: PROTOCOL_VERSION, serverVersion: this.options.version, lastSeq });
        this.catchUp(client, true);
      },
      (err: unknown) => this.failed(client, err),
    );
  }

  private onClientFrame(client: Client, text: string, isBinary: boolean): void {
    let frame;
    try {
      frame = isBinary ? undefined : ClientFrame.safeParse(JSON.parse(text));
    } catch {
      frame = undefined;
    }
    if (!frame || !frame.success) {
      this.send(client, { type: 'error', error: { code: 'bad_request', message: 'expected a JSON frame {type:"subscribe"|"ping"}' } });
      return;
    }
    const f = frame.data;
    switch (f.type) {
      case 'ping':
        client.alive = true;
        return;
      case 'subscribe':
        client.filter = f.taskIds && f.taskIds.length ? new Set(f.taskIds) : undefined;
        return;
      default: {
        const never: never = f;
        return never;
      }
    }
  }

  private onLive(client: Client, event: TaskEvent): void {
    if (client.catchingUp) {
      client.missed = Math.max(client.missed, event.seq);
      return;
    }
    if (event.seq <= client.lastSent) return;
    if (client.ws.bufferedAmount > this.hwm) {
      client.catchingUp = true;
      this.scheduleCatchUp(client);
      return;
    }
    if (event.seq !== client.lastSent + 1 || (client.login !== null && !this.owners.has(event.taskId))) {
      // A gap (an event published out of order), or a task whose owner must be read first: from
      // the store, in order, instead of guessing.
      client.catchingUp = true;
      client.missed = event.seq;
      this.catchUp(client, false);
      return;
    }
    this.deliver(client, event);
  }

  private deliver(client: Client, event: TaskEvent): void {
    client.lastSent = event.seq;
    if (client.filter && !client.filter.has(event.taskId)) return;
    if (client.login !== null && this.ownerOf(event.taskId) !== client.login) return;
    this.send(client, { type: 'event', event });
  }

  /** Known for every event a user's client is given: catchUp reads the owners of a page first. */
  private ownerOf(taskId: string): string | null | undefined {
    return this.owners.get(taskId);
  }

  private async learnOwners(events: readonly TaskEvent[]): Promise<void> {
    for (const taskId of new Set(events.map((e) => e.taskId))) {
      if (this.owners.has(taskId)) continue;
      const owner = await this.options.ownerOf(taskId);
      // An unknown task may be one being created right now: asked again next time.
      if (owner !== undefined) this.owners.set(taskId, owner);
    }
  }

  private failed(client: Client, err: unknown): void {
    this.options.log.error('event stream failed', { err: err as Error });
    client.ws.close(1011, 'internal error');
  }

  private scheduleCatchUp(client: Client): void {
    const timer = setTimeout(() => this.catchUp(client, false), 25);
    timer.unref();
  }

  /** Send from the store until the client is current, pausing whenever its socket backs up. */
  private catchUp(client: Client, first: boolean): void {
    this.readOn(client, first).catch((err: unknown) => this.failed(client, err));
  }

  private async readOn(client: Client, first: boolean): Promise<void> {
    for (;;) {
      if (client.ws.readyState !== client.ws.OPEN) return;
      if (client.ws.bufferedAmount > this.hwm) {
        this.scheduleCatchUp(client);
        return;
      }
      const page = await this.options.store.eventsSince(client.lastSent, this.pageSize);
      if (client.login !== null) await this.learnOwners(page);
      for (const event of page) this.deliver(client, event);
      // Events published while the page was read were not pushed (catchingUp): read on until the
      // log has given every one of them. From this check to the flag below nothing can run, so
      // the client is exactly current and live delivery takes over.
      if (page.length < this.pageSize && client.missed <= client.lastSent) break;
    }
    client.catchingUp = false;
    if (first) this.send(client, { type: 'replayed', lastSeq: client.lastSent });
  }

  private send(client: Client, frame: ServerFrame): void {
    if (client.ws.readyState === client.ws.OPEN) client.ws.send(JSON.stringify(frame));
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const client of this.clients) client.ws.close(1001, 'server shutting down');
    this.wss.close();
  }
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString('utf8');
}

/** Answers an upgrade request with an error, as JSON like every other error, and closes. */
function refuseUpgrade(socket: Duplex, code: ErrorCode, message: string): void {
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
