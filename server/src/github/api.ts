// The GitHub REST calls of the pull-request flow, through @octokit/rest, with every failure turned
// into one of our error codes and a message a user can act on.
import { Octokit } from '@octokit/rest';
import type { ErrorCode } from '../../../protocol';
import type { Logger } from '../log';

export type ApiResult<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

export interface PullRequestRef {
  url: string;
  number: number;
}

export interface ApiCtx {
  token: string;
  apiBaseUrl: string;
  owner: string;
  repo: string;
  signal?: AbortSignal;
  log?: Logger;
}

function client(ctx: ApiCtx): Octokit {
  const log = (msg: string): void => ctx.log?.warn('github api', { detail: msg });
  return new Octokit({
    auth: ctx.token,
    baseUrl: ctx.apiBaseUrl.replace(/\/+$/, ''),
    userAgent: 'delegate',
    request: { signal: ctx.signal },
    log: { debug: () => undefined, info: () => undefined, warn: log, error: log },
  });
}

interface HttpErrorShape {
  status?: number;
  message?: string;
  name?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function header(e: HttpErrorShape, name: string): string | undefined {
  const v = e.response?.headers?.[name];
  return v === undefined ? undefined : String(v);
}

function githubMessage(e: HttpErrorShape): string {
  const data = e.response?.data;
  if (data && typeof data === 'object') {
    const d = data as { message?: unknown; errors?: unknown };
    const extra = Array.isArray(d.errors)
      ? d.errors.map((x) => (x && typeof x === 'object' && 'message' in x ? String((x as { message: unknown }).message) : '')).filter(Boolean)
      : [];
    const base = typeof d.message === 'string' ? d.message : '';
    return [base, ...extra].filter(Boolean).join(': ');
  }
  return e.message ?? 'unknown error';
}

/** Maps an Octokit failure to our codes. Exported for unit tests. */
export function mapApiError(err: unknown, what: string, apiBaseUrl: string, aborted: boolean): { ok: false; code: ErrorCode; message: string } {
  const e = (err && typeof err === 'object' ? err : { message: String(err) }) as HttpErrorShape;
  if (aborted) return { ok: false, code: 'github_error', message: `${what} was cancelled` };
  const status = e.status;
  const remaining = header(e, 'x-ratelimit-remaining');
  if ((status === 403 || status === 429) && (remaining === '0' || header(e, 'retry-after') !== undefined)) {
    const reset = Number(header(e, 'x-ratelimit-reset'));
    const retryAfter = Number(header(e, 'retry-after'));
    const when = Number.isFinite(reset) && reset > 0
      ? `it resets at ${new Date(reset * 1000).toISOString()}`
      : Number.isFinite(retryAfter) && retryAfter > 0
        ? `retry after ${retryAfter} s`
        : 'try again later';
    return { ok: false, code: 'rate_limited', message: `${what}: GitHub's API rate limit is exhausted (${status}); ${when}.` };
  }
  if (status === 401) {
    return { ok: false, code: 'github_unauthorized', message: `${what}: GitHub rejected the token (401 ${githubMessage(e)}). Sign in to GitHub again or use a valid token.` };
  }
  if (status === 403) {
    const accepted = header(e, 'x-accepted-oauth-scopes');
    const has = header(e, 'x-oauth-scopes');
    const scopes = accepted ? ` GitHub accepts the scope(s): ${accepted}; the token has: ${has || 'none'}.` : '';
    return {
      ok: false,
      code: 'github_forbidden',
      message: `${what}: GitHub refused (403 ${githubMessage(e)}). The token needs the \`repo\` scope (or pull requests: write).${scopes}`,
    };
  }
  if (status === 404) {
    return { ok: false, code: 'github_error', message: `${what}: not found (404). The repository does not exist or the token cannot see it.` };
  }
  if (status === 422) {
    return { ok: false, code: 'github_error', message: `${what}: GitHub refused the request (422 ${githubMessage(e)})` };
  }
  if (status !== undefined && status < 500 && e.response) {
    return { ok: false, code: 'github_error', message: `${what}: GitHub answered ${status} ${githubMessage(e)}` };
  }
  if (e.response) return { ok: false, code: 'github_error', message: `${what}: GitHub had a server error (${status ?? '?'} ${githubMessage(e)})` };
  // No response at all: DNS, refused connection, TLS, reset.
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  const why = cause?.code ?? cause?.message ?? e.message ?? 'network error';
  return { ok: false, code: 'github_error', message: `${what}: could not reach ${apiBaseUrl} (${why})` };
}

async function call<T>(ctx: ApiCtx, what: string, fn: (o: Octokit) => Promise<T>): Promise<ApiResult<T>> {
  try {
    return { ok: true, value: await fn(client(ctx)) };
  } catch (err) {
    return mapApiError(err, what, ctx.apiBaseUrl, ctx.signal?.aborted === true);
  }
}

export function createPull(
  ctx: ApiCtx,
  p: { title: string; head: string; base: string; body: string; draft?: boolean },
): Promise<ApiResult<PullRequestRef>> {
  return call(ctx, 'Creating the pull request', async (o) => {
    const r = await o.rest.pulls.create({ owner: ctx.owner, repo: ctx.repo, title: p.title, head: p.head, base: p.base, body: p.body, draft: p.draft ?? false });
    return { url: r.data.html_url, number: r.data.number };
  });
}

export function updatePull(ctx: ApiCtx, pullNumber: number, p: { body: string; title?: string }): Promise<ApiResult<PullRequestRef>> {
  return call(ctx, `Updating pull request #${pullNumber}`, async (o) => {
    const r = await o.rest.pulls.update({ owner: ctx.owner, repo: ctx.repo, pull_number: pullNumber, body: p.body, ...(p.title ? { title: p.title } : {}) });
    return { url: r.data.html_url, number: r.data.number };
  });
}

/** The open pull request whose head is `branch` in the same repository, if any. */
export function findOpenPull(ctx: ApiCtx, branch: string): Promise<ApiResult<PullRequestRef | null>> {
  return call(ctx, 'Looking for an open pull request', async (o) => {
    const r = await o.rest.pulls.list({ owner: ctx.owner, repo: ctx.repo, head: `${ctx.owner}:${branch}`, state: 'open', per_page: 10 });
    const pr = r.data.find((x) => x.head.ref === branch);
    return pr ? { url: pr.html_url, number: pr.number } : null;
  });
}
