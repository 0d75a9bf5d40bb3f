// The companion server's HTTP API (docs/api.md). Every response body is validated with the shared
// protocol schemas; failures come back as values carrying the server's stable error code.
import type { z } from 'zod';
import {
  BundleResponse,
  type CreateTaskRequest,
  ErrorBody,
  Health,
  MessageResponse,
  type PullRequestRequest,
  PullRequestResponse,
  Task,
  TaskList,
} from '../../protocol';
import { errorMessage, fail, ok, type Result } from '../util/result';

/** Names the diff GET /diff answered; a pull request's `accept` carries it back (409 when it moved). */
export const DIFF_VERSION_HEADER = 'x-delegate-diff-version';

export interface ServerEndpoint {
  /** Base URL such as http://127.0.0.1:7420 (no trailing slash needed). */
  url: string;
  token: string | undefined;
}

interface RequestOptions {
  body?: unknown;
  raw?: Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
  auth?: boolean;
}

export class ApiClient {
  constructor(private readonly endpoint: () => Promise<ServerEndpoint>) {}

  health(signal?: AbortSignal): Promise<Result<Health>> {
    return this.json('GET', '/healthz', Health, { signal, auth: false });
  }

  listTasks(signal?: AbortSignal): Promise<Result<TaskList>> {
    return this.json('GET', '/v1/tasks', TaskList, { signal });
  }

  getTask(id: string, signal?: AbortSignal): Promise<Result<Task>> {
    return this.json('GET', `/v1/tasks/${enc(id)}`, Task, { signal });
  }

  createTask(body: CreateTaskRequest, signal?: AbortSignal): Promise<Result<Task>> {
    return this.json('POST', '/v1/tasks', Task, { body, signal });
  }

  uploadBundle(bytes: Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<Result<{ bundleId: string }>> {
    return this.json('POST', '/v1/bundles', BundleResponse, { raw: bytes, signal });
  }

  /** `fromCheckpoint`: first set the task's workspace back to that checkpoint (a finished task only). */
  sendMessage(id: string, text: string, signal?: AbortSignal, fromCheckpoint?: string): Promise<Result<MessageResponse>> {
    const body = fromCheckpoint === undefined ? { text } : { text, fromCheckpoint };
    return this.json('POST', `/v1/tasks/${enc(id)}/messages`, MessageResponse, { body, signal });
  }

  async cancel(id: string, signal?: AbortSignal): Promise<Result<void>> {
    const r = await this.send('POST', `/v1/tasks/${enc(id)}/cancel`, { body: {}, signal });
    return r.ok ? ok(undefined) : r;
  }

  async remove(id: string, signal?: AbortSignal): Promise<Result<void>> {
    const r = await this.send('DELETE', `/v1/tasks/${enc(id)}`, { signal });
    return r.ok ? ok(undefined) : r;
  }

  /** Makes the task mirror one best-of-N attempt; answers the task as it now is. */
  selectAttempt(id: string, attempt: number, signal?: AbortSignal): Promise<Result<Task>> {
    return this.json('POST', `/v1/tasks/${enc(id)}/select-attempt`, Task, { body: { attempt }, signal });
  }

  createPullRequest(id: string, body: PullRequestRequest, signal?: AbortSignal): Promise<Result<PullRequestResponse>> {
    return this.json('POST', `/v1/tasks/${enc(id)}/pull-request`, PullRequestResponse, { body, signal });
  }

  /** The task's unified diff against its base commit, and the version naming it (newer servers). */
  async diff(id: string, signal?: AbortSignal): Promise<Result<{ text: string; version: string | undefined }>> {
    const r = await this.send('GET', `/v1/tasks/${enc(id)}/diff`, { signal });
    return r.ok ? ok({ text: new TextDecoder().decode(r.value), version: r.headers?.get(DIFF_VERSION_HEADER) ?? undefined }) : r;
  }

  /** The diff of the task's base against one of its checkpoints (404 not_found for a checkpoint the server does not know). */
  async checkpointDiff(id: string, checkpoint: string, signal?: AbortSignal): Promise<Result<string>> {
    const r = await this.send('GET', `/v1/tasks/${enc(id)}/diff?checkpoint=${enc(checkpoint)}`, { signal });
    return r.ok ? ok(new TextDecoder().decode(r.value)) : r;
  }

  /**
   * A file's bytes on one side of the task's diff (the agent's side as of `checkpoint` when given);
   * null when it does not exist on that side.
   */
  async file(id: string, path: string, side: 'base' | 'head', signal?: AbortSignal, checkpoint?: string): Promise<Result<Uint8Array | null>> {
    const at = checkpoint !== undefined && side === 'head' ? `&checkpoint=${enc(checkpoint)}` : '';
    const r = await this.send('GET', `/v1/tasks/${enc(id)}/file?path=${enc(path)}&side=${side}${at}`, { signal });
    if (!r.ok && r.error.status === 404) return ok(null);
    return r;
  }

  private async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: RequestOptions,
  ): Promise<Result<z.infer<S>>> {
    const r = await this.send(method, path, options);
    if (!r.ok) return r;
    let data: unknown;
    try {
      data = JSON.parse(new TextDecoder().decode(r.value));
    } catch {
      return fail('invalid_response', `${method} ${path}: the server did not answer JSON`);
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) return fail('invalid_response', `${method} ${path}: unexpected answer: ${parsed.error.message}`);
    return ok(parsed.data);
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Result<Uint8Array> & { headers?: Headers }> {
    let endpoint: ServerEndpoint;
    try {
      endpoint = await this.endpoint();
    } catch (e) {
      // No credential to send (the server wants a sign-in that has not happened): nothing to ask.
      return fail('unauthorized', errorMessage(e), 401);
    }
    const { url, token } = endpoint;
    const headers: Record<string, string> = {};
    if (options.auth !== false && token) headers.authorization = `Bearer ${token}`;
    let body: BodyInit | undefined;
    if (options.raw) {
      headers['content-type'] = 'application/octet-stream';
      body = options.raw;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(joinUrl(url, path), { method, headers, body, signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) return fail('aborted', 'cancelled');
      return fail('unreachable', `cannot reach the Delegate server at ${url}: ${errorMessage(e)}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
    if (response.ok) return { ...ok(bytes), headers: response.headers };
    return fail(...describeError(bytes, response.status));
  }
}

function describeError(bytes: Uint8Array, status: number): [string, string, number] {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (parsed.success) return [parsed.data.error.code, parsed.data.error.message, status];
  } catch {
    // Not JSON: a proxy or a crashed server; the status says enough.
  }
  return ['http_error', `the server answered HTTP ${status}`, status];
}

/** Keeps a path prefix of the server URL (a server behind a reverse proxy at /delegate). */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}
