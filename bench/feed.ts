// One WebSocket client on the server's event stream, as the extension holds one: every event is
// kept with the time it arrived here, and callers wait for the event they need.
import WebSocket from 'ws';
import type { ServerFrame, TaskEvent } from '../protocol';
import { nowMs } from './clock';

export interface Received {
  event: TaskEvent;
  /** nowMs() when the frame arrived. */
  at: number;
}

interface Waiter {
  taskId: string;
  match: (e: TaskEvent) => boolean;
  resolve: (r: Received) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class EventFeed {
  private readonly byTask = new Map<string, Received[]>();
  private readonly waiters = new Set<Waiter>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const at = nowMs();
      const frame = JSON.parse((data as Buffer).toString()) as ServerFrame;
      if (frame.type === 'event') this.add({ event: frame.event, at });
    });
    ws.on('close', () => {
      for (const w of this.waiters) w.reject(new Error('the event stream closed'));
    });
  }

  static open(server: { url: string; token: string }): Promise<EventFeed> {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/events?since=0`, { headers: { authorization: `Bearer ${server.token}` }, perMessageDeflate: false });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new EventFeed(ws)));
      ws.once('error', reject);
    });
  }

  private add(r: Received): void {
    const list = this.byTask.get(r.event.taskId) ?? [];
    list.push(r);
    this.byTask.set(r.event.taskId, list);
    for (const w of this.waiters) {
      if (w.taskId === r.event.taskId && w.match(r.event)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(r);
      }
    }
  }

  events(taskId: string): Received[] {
    return this.byTask.get(taskId) ?? [];
  }

  /** The first event of the task matching `match`, already received or still to come. */
  waitFor(taskId: string, match: (e: TaskEvent) => boolean, timeoutMs = 60_000): Promise<Received> {
    const seen = this.events(taskId).find((r) => match(r.event));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const last = this.events(taskId).at(-1)?.event;
        reject(new Error(`task ${taskId}: no matching event within ${timeoutMs} ms (last: ${JSON.stringify(last)?.slice(0, 500)})`));
      }, timeoutMs);
      const waiter: Waiter = { taskId, match, resolve, reject, timer };
      this.waiters.add(waiter);
    });
  }

  /** The task's final status event. */
  finished(taskId: string, timeoutMs?: number): Promise<Received> {
    return this.waitFor(taskId, (e) => e.type === 'task.status' && ['completed', 'failed', 'cancelled', 'interrupted'].includes(e.status), timeoutMs);
  }

  /** Drops what was kept for finished tasks (the 20-task bursts would pile up otherwise). */
  forget(taskId: string): void {
    this.byTask.delete(taskId);
  }

  close(): void {
    this.ws.close();
  }
}
