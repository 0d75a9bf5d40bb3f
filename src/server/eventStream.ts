// The resumable event stream (GET /v1/events?since=N over WebSocket). The server restarts now and
// then: the stream reconnects with backoff and resumes from the last sequence number the caller
// holds, so no event is lost and none is applied twice (the caller drops seq <= last).
import WebSocket from 'ws';
import { ErrorBody, PROTOCOL_VERSION } from '../../protocol';
import { readFrame, type StreamFrame } from './frames';
import type { ServerEndpoint } from './apiClient';
import { joinUrl } from './apiClient';
import { errorMessage } from '../util/result';
import { Signal, type Disposable } from '../util/signal';

export type StreamState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected'; serverVersion: string }
  /** `status`: the HTTP status the server refused the stream with (401, 403), when it did. */
  | { kind: 'offline'; reason: string; retryInMs: number; status?: number }
  /** The server speaks another protocol version: no retry until the user reconnects. */
  | { kind: 'incompatible'; reason: string; serverVersion: string; serverProtocol: number };

export interface StreamLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface EventStreamOptions {
  endpoint: () => Promise<ServerEndpoint>;
  /** The last seq the caller applied; read at every (re)connect. */
  lastSeq: () => number;
  log: StreamLogger;
  /** Backoff bounds; the delay doubles per failed attempt, with jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A connection that hears nothing (not even a pong) for this long is considered dead. */
  idleTimeoutMs?: number;
}

export class EventStream implements Disposable {
  private readonly frames = new Signal<StreamFrame>();
  private readonly skippedTypes = new Set<string>();
  private readonly states = new Signal<StreamState>();
  readonly onFrame = this.frames.event;
  readonly onState = this.states.event;
  private socket: WebSocket | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private disposed = false;
  private current: StreamState = { kind: 'offline', reason: 'not started', retryInMs: 0 };
  /** Bumped per connection so late callbacks of a replaced socket are ignored. */
  private generation = 0;

  constructor(private readonly options: EventStreamOptions) {}

  get state(): StreamState {
    return this.current;
  }

  start(): void {
    if (this.disposed || this.socket) return;
    void this.open();
  }

  /** Drop the current connection (if any) and connect again at once, e.g. after a settings change. */
  reconnect(): void {
    if (this.disposed) return;
    this.closeSocket();
    clearTimeout(this.retryTimer);
    this.failures = 0;
    void this.open();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    this.closeSocket();
    this.frames.dispose();
    this.states.dispose();
  }

  private setState(state: StreamState): void {
    this.current = state;
    this.states.fire(state);
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.setState({ kind: 'connecting', attempt: this.failures + 1 });
    let endpoint: ServerEndpoint;
    try {
      endpoint = await this.options.endpoint();
    } catch (e) {
      this.scheduleRetry(generation, errorMessage(e));
      return;
    }
    if (generation !== this.generation || this.disposed) return;
    const url = joinUrl(endpoint.url.replace(/^http/, 'ws'), `/v1/events?since=${this.options.lastSeq()}`);
    const socket = new WebSocket(url, {
      headers: endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {},
      maxPayload: 16 * 1024 * 1024,
      handshakeTimeout: 10_000,
    });
    this.socket = socket;
    let closedReason = 'connection closed';
    let refusedWith: number | undefined;
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      refusedWith = status;
      closedReason = status === 401 ? 'the server rejected the token (401)' : `HTTP ${status}`;
      // The refusal's body says why (a 403 names who may use the server): read a little of it.
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < 16_384) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const message = errorBodyMessage(Buffer.concat(chunks).toString('utf8'));
        if (message) closedReason = `${message} (${status})`;
        socket.terminate();
      });
      res.on('error', () => socket.terminate());
    });
    socket.on('open', () => this.armIdleTimer(socket, generation));
    socket.on('pong', () => this.armIdleTimer(socket, generation));
    socket.on('message', (data) => {
      if (generation !== this.generation) return;
      this.armIdleTimer(socket, generation);
      // Text frames arrive as one Buffer (ws without binaryType set); other shapes are not ours.
      this.handleMessage(Buffer.isBuffer(data) ? data.toString('utf8') : '');
    });
    socket.on('error', (e) => {
      // After a refusal, ws reports its own terminate() as an error: the refusal says more.
      if (refusedWith === undefined) closedReason = errorMessage(e);
    });
    socket.on('close', () => {
      if (generation !== this.generation) return;
      clearTimeout(this.pingTimer);
      this.socket = undefined;
      this.scheduleRetry(generation, closedReason, refusedWith);
    });
  }

  private handleMessage(text: string): void {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.options.log.warn('event stream: a frame that is not JSON was dropped');
      return;
    }
    const read = readFrame(data);
    if (!read.ok) {
      this.options.log.warn(`event stream: an invalid frame was dropped: ${read.message.slice(0, 300)}`);
      return;
    }
    const frame = read.frame;
    if (frame.type === 'skipped') {
      // Once per type: a newer server may send many of them.
      if (!this.skippedTypes.has(frame.eventType)) this.options.log.info(`event stream: skipping events of type ${frame.eventType} (from a newer server; this extension does not show them)`);
      this.skippedTypes.add(frame.eventType);
      this.frames.fire(frame);
      return;
    }
    if (frame.type === 'hello' && frame.protocolVersion !== PROTOCOL_VERSION) {
      const reason = describeMismatch(frame.protocolVersion, frame.serverVersion);
      this.options.log.warn(`event stream: ${reason}`);
      this.closeSocket();
      this.setState({ kind: 'incompatible', reason, serverVersion: frame.serverVersion, serverProtocol: frame.protocolVersion });
      return;
    }
    if (frame.type === 'hello') {
      this.failures = 0;
      this.setState({ kind: 'connected', serverVersion: frame.serverVersion });
    } else if (frame.type === 'error') {
      this.options.log.warn(`event stream: server error ${frame.error.code}: ${frame.error.message}`);
    }
    this.frames.fire(frame);
  }

  /** Pings keep proxies from closing an idle socket and detect a server that vanished silently. */
  private armIdleTimer(socket: WebSocket, generation: number): void {
    clearTimeout(this.pingTimer);
    const idle = this.options.idleTimeoutMs ?? 45_000;
    this.pingTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.ping();
      this.pingTimer = setTimeout(() => {
        if (generation === this.generation) socket.terminate();
      }, idle / 3);
    }, (idle * 2) / 3);
  }

  private scheduleRetry(generation: number, reason: string, status?: number): void {
    if (this.disposed || generation !== this.generation) return;
    const min = this.options.minDelayMs ?? 250;
    const max = this.options.maxDelayMs ?? 10_000;
    const base = Math.min(max, min * 2 ** this.failures);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    this.failures++;
    this.setState({ kind: 'offline', reason, retryInMs: delay, ...(status ? { status } : {}) });
    this.options.log.info(`event stream: ${reason}; reconnecting in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      if (generation === this.generation && !this.disposed) void this.open();
    }, delay);
  }

  private closeSocket(): void {
    this.generation++;
    clearTimeout(this.pingTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.removeAllListeners('close');
      socket.on('error', () => undefined);
      socket.terminate();
    }
  }
}

/** What the user must update when the server speaks another protocol version than this extension. */
export function describeMismatch(serverProtocol: number, serverVersion: string): string {
  return serverProtocol < PROTOCOL_VERSION
    ? `The Delegate server (${serverVersion}) is too old for this extension: it speaks protocol ${serverProtocol}, the extension needs ${PROTOCOL_VERSION}. Update the server and restart it.`
    : `The Delegate server (${serverVersion}) is newer than this extension: it speaks protocol ${serverProtocol}, the extension speaks ${PROTOCOL_VERSION}. Update the Delegate extension.`;
}

/** The message of an `{error: {code, message}}` body; undefined for anything else. */
function errorBodyMessage(text: string): string | undefined {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error.message : undefined;
  } catch {
    return undefined;
  }
}
