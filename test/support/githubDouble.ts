// A fake GitHub on one loopback port: git smart HTTP (`/<owner>/<repo>.git/...`, real git
// http-backend) and the pull-request REST endpoints under `/api/v3`. Every REST request body and
// every response is validated against the operation's schemas in GitHub's published OpenAPI
// description (@octokit/openapi); a violation answers 500 and is recorded in `schemaErrors`.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadValidators, pullObject, type FakeUser, type OpName, type USER_OPS } from './githubSchema';
import { createFakeOAuth, type FakeOAuth } from './githubOAuth';
import { createBareRepo, commitFiles, createGitBackend, git, readBranch, type BranchSnapshot, type FileChanges } from './gitHttpServer';

export interface FakeGitHubMode {
  /** OAuth scopes the token has; without `repo`, PR writes answer 403 (default ['repo']). */
  scopes: string[];
  /** Answer every API request as rate limited: 403 (primary limit) or 429 (secondary); false: off. */
  rateLimited: false | 403 | 429;
  /** Pushes answer 403, like a token without write access to the repository. */
  pushForbidden: boolean;
}

export interface FakePull {
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  owner: string;
  repo: string;
  createdAt: string;
  updatedAt: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** `pulls/create`, `pulls/update`, `pulls/list`, `pulls/get`, or null for anything else. */
  operation: string | null;
  authorized: boolean;
}

export type { FakeUser } from './githubSchema';

export interface FakeGitHub {
  /** http://127.0.0.1:PORT — also the git host: remotes are `${url}/<owner>/<repo>.git`. */
  url: string;
  /** `${url}/api/v3`, for Octokit's baseUrl / --github-api-url. */
  apiBaseUrl: string;
  /** Directory holding the bare repositories (`<owner>/<repo>.git`). */
  root: string;
  createRepo(owner: string, name: string, files: FileChanges, branch?: string): Promise<{ remoteUrl: string; dir: string; commit: string }>;
  /** Someone else commits to a branch (e.g. the base moves). Returns the new commit. */
  commit(owner: string, name: string, branch: string, changes: FileChanges, message?: string): Promise<string>;
  readBranch(owner: string, repo: string, branch: string): Promise<BranchSnapshot | null>;
  repoDir(owner: string, repo: string): string;
  /** Pull requests created so far (a copy). */
  readonly pulls: FakePull[];
  readonly requests: RecordedRequest[];
  readonly schemaErrors: string[];
  /** One line per request (git and API): method, path, status. Never headers or bodies. */
  readonly log: string[];
  setMode(mode: Partial<FakeGitHubMode>): void;
  /** Add a user's token, or with null revoke it (GitHub then answers 401 Bad credentials). */
  setUser(token: string, user: FakeUser | null): void;
  /** The OAuth web flow (/login/oauth/…): register apps, see the authorize requests. */
  readonly oauth: FakeOAuth;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>, readonly headers: Record<string, string> = {}) {
    super(typeof body.message === 'string' ? body.message : `GitHub ${status}`);
  }
}

const DOCS = 'https://docs.github.com/rest/pulls/pulls';

export async function startFakeGitHub(opts: { token: string; scopes?: string[]; users?: Record<string, FakeUser> }): Promise<FakeGitHub> {
  const root = await mkdtemp(join(tmpdir(), 'fake-github-'));
  const { spec, has, validate } = loadValidators();
  const mode: FakeGitHubMode = { scopes: opts.scopes ?? ['repo'], rateLimited: false, pushForbidden: false };
  const pulls: FakePull[] = [];
  const requests: RecordedRequest[] = [];
  const schemaErrors: string[] = [];
  const log: string[] = [];
  const repoDir = (owner: string, repo: string): string => join(root, owner, `${repo}.git`);
  const backend = createGitBackend({ root, token: opts.token, pushForbidden: () => mode.pushForbidden, log: (l) => log.push(l) });
  let urls = { api: '', web: '' };
  const oauth = createFakeOAuth((l) => log.push(l));

  const sha = async (owner: string, repo: string, branch: string): Promise<string | null> => {
    const r = await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { gitDir: repoDir(owner, repo) });
    return r.code === 0 ? r.stdout.toString().trim() : null;
  };
  const repoExists = async (owner: string, repo: string): Promise<boolean> =>
    (await git(['rev-parse', '--git-dir'], { gitDir: repoDir(owner, repo) })).code === 0;
  const render = async (pr: FakePull): Promise<Record<string, unknown>> =>
    pullObject(spec, pr, urls, (await sha(pr.owner, pr.repo, pr.head)) ?? '0'.repeat(40), (await sha(pr.owner, pr.repo, pr.base)) ?? '0'.repeat(40));
  const simpleKeys = Object.keys((spec.components.schemas!['pull-request-simple'] as { properties: object }).properties);
  const simple = (full: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(simpleKeys.filter((k) => k in full).map((k) => [k, full[k]]));
  const invalid = (message: string, errors: object[] = []): ApiError =>
    new ApiError(422, { message, documentation_url: DOCS, ...(errors.length ? { errors } : {}), status: '422' });
  const notFound = (): ApiError => new ApiError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
  const users = new Map(Object.entries(opts.users ?? {}));

  /** GET /user and GET /user/memberships/orgs/{org} for a user's token: GitHub's examples with this user's values. */
  function userOp(path: string, user: FakeUser): { op: keyof typeof USER_OPS; status: number; body: unknown } | null {
    const example = (name: string) => JSON.parse(JSON.stringify((spec.components.examples![name] as { value: unknown }).value).replaceAll('https://api.github.com', urls.api)) as Record<string, unknown>;
    if (path === '/user') {
      const me = example('private-user-response-with-public-and-private-profile-information');
      return { op: 'users/get-authenticated', status: 200, body: { ...me, login: user.login, id: user.id, url: `${urls.api}/users/${user.login}`, html_url: `${urls.web}/${user.login}` } };
    }
    const m = /^\/user\/memberships\/orgs\/([^/]+)$/.exec(path);
    if (!m) return null;
    const org = decodeURIComponent(m[1]!);
    if (!user.orgs?.some((o) => o.toLowerCase() === org.toLowerCase())) {
      return { op: 'orgs/get-membership-for-authenticated-user', status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/orgs/members#get-an-organization-membership-for-the-authenticated-user', status: '404' } };
    }
    const membership = example('org-membership');
    const organization = { ...(membership.organization as Record<string, unknown>), login: org };
    return {
      op: 'orgs/get-membership-for-authenticated-user',
      status: 200,
      body: { ...membership, state: 'active', role: 'member', url: `${urls.api}/orgs/${org}/memberships/${user.login}`, organization_url: `${urls.api}/orgs/${org}`, organization, user: { ...(membership.user as Record<string, unknown>), login: user.login, id: user.id } },
    };
  }

  async function route(op: OpName, params: { owner: string; repo: string; number?: number }, query: Record<string, string>, body: Record<string, unknown>): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const { owner, repo } = params;
    if (!(await repoExists(owner, repo))) throw notFound();
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    switch (op) {
      case 'pulls/create': {
        const head = String(body.head).replace(new RegExp(`^${owner}:`), '');
        const base = String(body.base);
        if (typeof body.title !== 'string' && body.issue === undefined) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }]);
        const headSha = await sha(owner, repo, head);
        const baseSha = await sha(owner, repo, base);
        if (!headSha) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
        if (!baseSha) throw invalid('Validation Failed', [{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
        if (pulls.some((p) => p.owner === owner && p.repo === repo && p.head === head && p.base === base && p.state === 'open')) {
          throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }]);
        }
        if ((await git(['merge-base', '--is-ancestor', headSha, baseSha], { gitDir: repoDir(owner, repo) })).code === 0) {
          throw invalid('Validation Failed', [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }]);
        }
        const pr: FakePull = { number: pulls.length + 1, title: typeof body.title === 'string' ? body.title : '', body: typeof body.body === 'string' ? body.body : null, head, base, draft: body.draft === true, state: 'open', owner, repo, createdAt: now, updatedAt: now };
        pulls.push(pr);
        const full = await render(pr);
        return { status: 201, body: full, headers: { location: String(full.url) } };
      }
      case 'pulls/update': {
        const pr = pulls.find((p) => p.owner === owner && p.repo === repo && p.number === params.number);
        if (!pr) throw notFound();
        if (typeof body.title === 'string') pr.title = body.title;
        if (typeof body.body === 'string') pr.body = body.body;
        if (body.state === 'open' || body.state === 'closed') pr.state = body.state;
        if (typeof body.base === 'string') pr.base = body.base;
        pr.updatedAt = now;
        return { status: 200, body: await render(pr) };
      }
      case 'pulls/get': {
        const pr = pulls.find((p) => p.owner === owner && p.repo === repo && p.number === params.number);
        if (!pr) throw notFound();
        return { status: 200, body: await render(pr) };
      }
      case 'pulls/list': {
        const state = query.state ?? 'open';
        const head = query.head?.includes(':') ? query.head.split(':') : null;
        const list = pulls.filter(
          (p) =>
            p.owner === owner && p.repo === repo && (state === 'all' || p.state === state) &&
            (!head || (head[0] === owner && head[1] === p.head)) && (!query.base || query.base === p.base),
        );
        const out: unknown[] = [];
        for (const pr of list.reverse()) out.push(simple(await render(pr)));
        return { status: 200, body: out };
      }
      default: {
        const never: never = op;
        throw new Error(`unhandled ${String(never)}`);
      }
    }
  }

  function matchOp(method: string, path: string): { op: OpName; owner: string; repo: string; number?: number } | null {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(path);
    if (!m) return null;
    const [, owner, repo, num] = m;
    const number = num === undefined ? undefined : Number(num);
    if (number === undefined && method === 'POST') return { op: 'pulls/create', owner: owner!, repo: repo! };
    if (number === undefined && method === 'GET') return { op: 'pulls/list', owner: owner!, repo: repo! };
    if (number !== undefined && method === 'GET') return { op: 'pulls/get', owner: owner!, repo: repo!, number };
    if (number !== undefined && method === 'PATCH') return { op: 'pulls/update', owner: owner!, repo: repo!, number };
    return null;
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice('/api/v3'.length) || '/';
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const match = matchOp(req.method ?? 'GET', path);
    const auth = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const user = auth?.[1] !== undefined ? users.get(auth[1]) : undefined;
    const authorized = auth?.[1] === opts.token || user !== undefined;
    const reset = Math.floor(Date.now() / 1000) + 3600;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': mode.rateLimited ? '0' : '4999',
      'x-ratelimit-reset': String(reset),
      'x-ratelimit-resource': 'core',
    };
    if (authorized) headers['x-oauth-scopes'] = mode.scopes.join(', ');
    if (match) headers['x-accepted-oauth-scopes'] = 'repo';
    let status = 500;
    let out: unknown;
    let body: unknown = raw;
    /** Answered by userOp, its response already validated against its own operation. */
    let userAnswered = false;
    try {
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        throw new ApiError(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });
      }
      if (!authorized) throw new ApiError(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      if (mode.rateLimited) {
        throw new ApiError(mode.rateLimited, { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting', status: String(mode.rateLimited) }, mode.rateLimited === 429 ? { 'retry-after': '60' } : {});
      }
      const mine = user && req.method === 'GET' ? userOp(path, user) : null;
      if (mine) {
        userAnswered = true;
        const resErr = validate(`${mine.op}:${mine.status}`, mine.body);
        if (resErr) schemaErrors.push(`${req.method} ${path} response ${mine.status}: ${resErr}`);
        throw new ApiError(resErr ? 500 : mine.status, resErr ? { message: `fake GitHub: response does not match the OpenAPI schema: ${resErr}` } : (mine.body as Record<string, unknown>));
      }
      if (!match) throw new ApiError(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      const reqErr = (req.method === 'POST' || req.method === 'PATCH' ? validate(`${match.op}:request`, body ?? {}) : null) ?? validate(`${match.op}:query`, { ...query });
      if (reqErr) {
        schemaErrors.push(`${req.method} ${path} request: ${reqErr}`);
        throw new ApiError(500, { message: `fake GitHub: request does not match the OpenAPI schema: ${reqErr}` });
      }
      if ((req.method === 'POST' || req.method === 'PATCH') && !mode.scopes.includes('repo')) {
        throw new ApiError(403, { message: 'Resource not accessible by personal access token', documentation_url: DOCS, status: '403' });
      }
      const r = await route(match.op, match, query, (body ?? {}) as Record<string, unknown>);
      status = r.status;
      out = r.body;
      Object.assign(headers, r.headers);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      status = err.status;
      out = err.body;
      Object.assign(headers, err.headers);
    }
    if (status !== 500 && !userAnswered) {
      // Statuses an operation does not declare (401, 404 on most) use GitHub's basic-error shape.
      const declared = match ? `${match.op}:${status}` : null;
      const resErr = validate(declared && has(declared) ? declared : 'error', out);
      if (resErr) {
        schemaErrors.push(`${req.method} ${path} response ${status}: ${resErr}`);
        status = 500;
        out = { message: `fake GitHub: response does not match the OpenAPI schema: ${resErr}` };
      }
    }
    requests.push({ method: req.method ?? 'GET', path, query, body, status, operation: match?.op ?? null, authorized });
    log.push(`api ${req.method} ${path} ${status}`);
    res.writeHead(status, headers);
    res.end(JSON.stringify(out));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/v3' || url.pathname.startsWith('/api/v3/')) {
      handleApi(req, res, url).catch((err: unknown) => {
        schemaErrors.push(`internal error: ${String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    if (oauth.handle(req, res, url)) return;
    backend.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  urls = { api: `${base}/api/v3`, web: base };

  return {
    url: base,
    apiBaseUrl: `${base}/api/v3`,
    root,
    async createRepo(owner, name, files, branch = 'main') {
      const r = await createBareRepo(root, owner, name, files, branch);
      return { ...r, remoteUrl: `${base}/${owner}/${name}.git` };
    },
    commit: (owner, name, branch, changes, message) => commitFiles(repoDir(owner, name), branch, changes, message),
    readBranch: (owner, repo, branch) => readBranch(repoDir(owner, repo), branch),
    repoDir,
    get pulls() {
      return pulls.map((p) => ({ ...p }));
    },
    requests,
    schemaErrors,
    log,
    setMode(m) {
      Object.assign(mode, m);
    },
    setUser(token, u) {
      if (u) users.set(token, u);
      else users.delete(token);
    },
    oauth,
    async close() {
      backend.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
