// The REST API as the page uses it: same origin, `Authorization: Bearer`, failures as values with
// the server's stable error code and message (docs/api.md).
import type { AcceptSpec, CreateTaskRequest, Health, MessageResponse, PullRequestInfo, Task, TaskEvent } from '../../protocol';

export type ApiResult<T> = { ok: true; value: T; headers: Headers } | { ok: false; status: number; code: string; message: string; headers?: Headers };

export const DIFF_VERSION_HEADER = 'x-delegate-diff-version';

export class Api {
  constructor(private readonly token: string) {}

  private async call<T>(method: string, path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<ApiResult<T>> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        cache: 'no-store',
      });
    } catch (err) {
      return { ok: false, status: 0, code: 'offline', message: `the server cannot be reached (${(err as Error).message})` };
    }
    if (res.status === 204) return { ok: true, value: undefined as T, headers: res.headers };
    const text = await res.text();
    if (!res.ok) {
      let code = 'http_error';
      let message = `HTTP ${res.status}`;
      try {
        const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
        code = e?.code ?? code;
        message = e?.message ?? message;
      } catch {
        /* not the API's error body */
      }
      return { ok: false, status: res.status, code, message, headers: res.headers };
    }
    return { ok: true, value: (as === 'json' ? JSON.parse(text) : text) as T, headers: res.headers };
  }

  health = () => this.call<Health>('GET', '/healthz');
  list = () => this.call<{ tasks: Task[] }>('GET', '/v1/tasks');
  get = (id: string) => this.call<Task>('GET', `/v1/tasks/${encodeURIComponent(id)}`);
  create = (body: CreateTaskRequest) => this.call<Task>('POST', '/v1/tasks', body);
  message = (id: string, text: string) => this.call<MessageResponse>('POST', `/v1/tasks/${encodeURIComponent(id)}/messages`, { text });
  cancel = (id: string) => this.call<Task>('POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`);
  events = (id: string, since: number) => this.call<{ events: TaskEvent[]; lastSeq: number }>('GET', `/v1/tasks/${encodeURIComponent(id)}/events?since=${since}&limit=5000`);
  selectAttempt = (id: string, attempt: number) => this.call<Task>('POST', `/v1/tasks/${encodeURIComponent(id)}/select-attempt`, { attempt });
  diff = (id: string) => this.call<string>('GET', `/v1/tasks/${encodeURIComponent(id)}/diff`, undefined, 'text');
  pullRequest = (id: string, body: { githubToken: string; accept?: AcceptSpec; title?: string; draft?: boolean }) =>
    this.call<PullRequestInfo>('POST', `/v1/tasks/${encodeURIComponent(id)}/pull-request`, body);
}
