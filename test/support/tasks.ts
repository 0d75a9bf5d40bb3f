// Test helpers over the public API: create tasks, wait for states, read the event log.
import WebSocket from 'ws';
import type { Task, TaskEvent, ServerFrame } from '../../protocol';
import { api } from './serverProcess';

export type Server = { url: string; token: string; /** A server process's output so far (serverProcess.ts). */ logs?: () => string };

export async function createTask(server: Server, repoPath: string, prompt: string, options: Record<string, unknown> = {}): Promise<Task> {
  const res = await api<Task>(server, 'POST', '/v1/tasks', { prompt, repo: { kind: 'local', path: repoPath }, options });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function getTask(server: Server, id: string): Promise<Task> {
  const res = await api<Task>(server, 'GET', `/v1/tasks/${id}`);
  if (res.status !== 200) throw new Error(`get failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Poll until `predicate(task)`; fails with the last state seen. */
export async function waitForTask(server: Server, id: string, predicate: (t: Task) => boolean, timeoutMs = 30_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  let last: Task | undefined;
  while (Date.now() < deadline) {
    last = await getTask(server, id);
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`task ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify({ status: last?.status, error: last?.error })}${await whereItIs(server, id)}`);
}

/** For a task that did not get where a test waited for it: its last events and the server's log. */
async function whereItIs(server: Server, id: string): Promise<string> {
  const events = await allEvents(server, id).catch(() => [] as TaskEvent[]);
  const lines = events.slice(-12).map((e) => `  ${e.seq} ${e.type}${e.type === 'task.status' ? ` ${e.status}` : ''}`);
  const logs = server.logs?.().trimEnd().split('\n').slice(-40) ?? [];
  return `\nits last events:\n${lines.join('\n') || '  (none)'}${logs.length ? `\nthe server's log, last lines:\n${logs.join('\n')}` : ''}`;
}

export const isDone = (t: Task) => ['completed', 'failed', 'cancelled', 'interrupted'].includes(t.status);

/** Every event of the log (optionally of one task), read page by page over HTTP. */
export async function allEvents(server: Server, taskId: string): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  let since = 0;
  for (;;) {
    const res = await api<{ events: TaskEvent[] }>(server, 'GET', `/v1/tasks/${taskId}/events?since=${since}&limit=5000`);
    out.push(...res.body.events);
    if (res.body.events.length < 5000) return out;
    since = res.body.events.at(-1)!.seq;
  }
}

/** Opens the event stream and collects frames until closed. */
export function openStream(server: Server, since = 0, query = ''): Promise<{ ws: WebSocket; frames: ServerFrame[] }> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/events?since=${since}${query}`, { headers: { authorization: `Bearer ${server.token}` } });
  const frames: ServerFrame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse((data as Buffer).toString()) as ServerFrame));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, frames }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
