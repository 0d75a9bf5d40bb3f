// The live event stream (GET /v1/events?since=N over WebSocket). It remembers the last event it
// handed on; after a dropped connection it comes back with since=that, so the server replays
// exactly what was missed (docs/api.md), without a reload. The token travels as a subprotocol:
// browsers cannot set headers on a WebSocket, and a query string would land in proxies' logs.
import { ServerFrame, type TaskEvent } from '../../protocol/events';

export type StreamState = 'connecting' | 'replaying' | 'live' | 'offline';

export interface StreamHandlers {
  onEvent(event: TaskEvent): void;
  onState(state: StreamState, detail?: string): void;
}

const MAX_BACKOFF_MS = 8000;

export class EventStreamClient {
  private ws: WebSocket | null = null;
  private lastSeq = 0;
  private retryMs = 250;
  private timer: number | undefined;
  private pinger: number | undefined;
  private closed = false;

  constructor(
    private readonly token: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.closed = false;
    this.open();
  }

  stop(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    window.clearInterval(this.pinger);
    this.ws?.close(1000, 'signed out');
    this.ws = null;
  }

  /** Reconnect now (the user asked, or the page came back online). */
  reconnect(): void {
    if (this.closed || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    window.clearTimeout(this.timer);
    this.retryMs = 250;
    this.open();
  }

  private open(): void {
    this.handlers.onState('connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/v1/events?since=${this.lastSeq}`, ['delegate', `delegate.token.${base64url(this.token)}`]);
    this.ws = ws;
    ws.onopen = () => {
      this.handlers.onState('replaying');
      window.clearInterval(this.pinger);
      this.pinger = window.setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'ping' })), 20_000);
    };
    ws.onmessage = (msg) => this.onFrame(msg.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      window.clearInterval(this.pinger);
      if (this.closed) return;
      // 1008/4401-style refusals come as a failed handshake (close 1006) too: keep trying, slower.
      this.handlers.onState('offline', ev.reason || 'the connection to the server dropped; reconnecting…');
      this.timer = window.setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(MAX_BACKOFF_MS, this.retryMs * 2);
    };
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    let parsed;
    try {
      parsed = ServerFrame.safeParse(JSON.parse(data));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const frame = parsed.data;
    switch (frame.type) {
      case 'hello':
        return;
      case 'replayed':
        this.retryMs = 250;
        this.handlers.onState('live');
        return;
      case 'event':
        // Exactly once, in order: a replay after a reconnect starts after the last one handled.
        if (frame.event.seq <= this.lastSeq) return;
        this.lastSeq = frame.event.seq;
        this.handlers.onEvent(frame.event);
        return;
      case 'error':
        return;
      default: {
        const never: never = frame;
        return never;
      }
    }
  }
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
