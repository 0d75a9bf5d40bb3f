// A loopback git server for tests: real smart HTTP through `git http-backend` (CGI) with Basic
// auth against one expected token, plus helpers to create bare repositories and read branches.
// The fake GitHub (githubDouble.ts) mounts this handler next to its REST double.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';

export interface GitResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs git (never with a shell); `gitDir` selects a bare repository. */
export function git(args: string[], opts: { gitDir?: string; cwd?: string; env?: Record<string, string>; input?: string | Buffer } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const full = opts.gitDir ? ['--git-dir', opts.gitDir, ...args] : args;
    const child = spawn('git', full, { cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

async function gitOk(args: string[], opts: Parameters<typeof git>[1]): Promise<string> {
  const r = await git(args, opts);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.toString('utf8').trim();
}

const TEST_IDENTITY = {
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
};

export type FileChanges = Record<string, string | Buffer | null>;

/**
 * Commits `changes` (content, or null to delete) on top of `branch` (or as a root commit when the
 * branch does not exist) with plumbing only: a temporary index, write-tree, commit-tree, update-ref.
 */
export async function commitFiles(gitDir: string, branch: string, changes: FileChanges, message = 'Update files'): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'fake-github-index-'));
  try {
    const env = { GIT_INDEX_FILE: join(tmp, 'index'), ...TEST_IDENTITY };
    const parent = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { gitDir })).stdout.toString().trim();
    if (parent) await gitOk(['read-tree', parent], { gitDir, env });
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) {
        await gitOk(['update-index', '--force-remove', path], { gitDir, env });
        continue;
      }
      const blob = await gitOk(['hash-object', '-w', '--stdin'], { gitDir, input: content });
      await gitOk(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { gitDir, env });
    }
    const tree = await gitOk(['write-tree'], { gitDir, env });
    const commit = await gitOk(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message], { gitDir, env });
    await gitOk(['update-ref', `refs/heads/${branch}`, commit, ...(parent ? [parent] : [])], { gitDir });
    return commit;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Creates `<root>/<owner>/<name>.git` with one commit of `files` on `branch` (default main). */
export async function createBareRepo(root: string, owner: string, name: string, files: FileChanges, branch = 'main'): Promise<{ dir: string; commit: string }> {
  const dir = join(root, owner, `${name}.git`);
  await gitOk(['init', '--quiet', '--bare', `--initial-branch=${branch}`, dir], {});
  const commit = await commitFiles(dir, branch, files, 'Initial commit');
  return { dir, commit };
}

export interface BranchSnapshot {
  commit: string;
  parents: string[];
  message: string;
  author: string;
  /** Every file on the branch as text (binary files as latin1). */
  files: Record<string, string>;
  /** The same files as raw bytes. */
  raw: Record<string, Buffer>;
}

/** The branch's head commit and all its files; null when the branch does not exist. */
export async function readBranch(gitDir: string, branch: string): Promise<BranchSnapshot | null> {
  const head = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { gitDir })).stdout.toString().trim();
  if (!head) return null;
  const [commitLine, ...msg] = (await gitOk(['log', '-1', '--format=%H %P%n%an <%ae>%n%B', head], { gitDir })).split('\n');
  const [commit, ...parents] = commitLine!.split(' ').filter(Boolean);
  const listing = (await git(['ls-tree', '-r', '-z', head], { gitDir })).stdout.toString('utf8');
  const files: Record<string, string> = {};
  const raw: Record<string, Buffer> = {};
  for (const entry of listing.split('\0').filter(Boolean)) {
    const tab = entry.indexOf('\t');
    const [, type, sha] = entry.slice(0, tab).split(' ');
    if (type !== 'blob') continue;
    const path = entry.slice(tab + 1);
    const data = (await git(['cat-file', 'blob', sha!], { gitDir })).stdout;
    raw[path] = data;
    files[path] = data.includes(0) ? data.toString('latin1') : data.toString('utf8');
  }
  return { commit: commit!, parents, author: msg[0] ?? '', message: msg.slice(1).join('\n').trim(), files, raw };
}

export interface GitBackendOptions {
  /** Directory holding `<owner>/<repo>.git`. */
  root: string;
  /** The only token accepted (as the Basic-auth password, or the user name as some clients send). */
  token: string;
  /** Checked per request: when true, pushes get 403 like a token without write access. */
  pushForbidden: () => boolean;
  /** One line per request (method, path, status): never headers. */
  log: (line: string) => void;
}

export interface GitBackend {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every running http-backend (by process group). */
  close(): void;
}

function basicAuthOk(header: string | undefined, token: string): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const pass = colon < 0 ? '' : decoded.slice(colon + 1);
  return pass === token || (user === token && (pass === '' || pass === 'x-oauth-basic'));
}

/** Serves smart HTTP for every repository under `root` through `git http-backend`. */
export function createGitBackend(opts: GitBackendOptions): GitBackend {
  const running = new Set<ChildProcess>();
  const killGroup = (child: ChildProcess): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const done = (status: number, text: string, headers: Record<string, string> = {}): void => {
      opts.log(`git ${req.method} ${url.pathname} ${status}`);
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(text);
    };
    if (!basicAuthOk(req.headers.authorization, opts.token)) {
      done(401, 'Invalid username or password.\n', { 'www-authenticate': 'Basic realm="fake-github"' });
      return;
    }
    const isPush = url.searchParams.get('service') === 'git-receive-pack' || url.pathname.endsWith('/git-receive-pack');
    if (isPush && opts.pushForbidden()) {
      done(403, 'Permission to this repository denied to the token.\n');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: opts.root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        GIT_HTTP_MAX_REQUEST_BUFFER: '100M',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.receivepack',
        GIT_CONFIG_VALUE_0: 'true',
      },
    });
    running.add(child);
    child.on('close', () => running.delete(child));
    child.on('error', () => undefined);
    res.on('close', () => {
      if (!res.writableFinished) killGroup(child);
    });
    child.stdin.on('error', () => undefined);
    // Bodies stream both ways; git gzips large fetch negotiations, http-backend reads plain bytes
    // until EOF when no CONTENT_LENGTH is given.
    const body = req.headers['content-encoding'] === 'gzip' ? req.pipe(createGunzip()) : req;
    body.on('error', () => killGroup(child));
    body.pipe(child.stdin);

    const errors: Buffer[] = [];
    child.stderr.on('data', (d: Buffer) => errors.push(d));
    let head = Buffer.alloc(0);
    let headersSent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const lf = head.indexOf('\n\n');
      const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
      if (end < 0) return;
      const sep = end === crlf ? 4 : 2;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[name] = value;
      }
      headersSent = true;
      opts.log(`git ${req.method} ${url.pathname}${url.search} ${status}`);
      res.writeHead(status, headers);
      res.write(head.subarray(end + sep));
    });
    child.on('close', (code) => {
      if (!headersSent) {
        opts.log(`git ${req.method} ${url.pathname} 500 (http-backend exited ${code}: ${Buffer.concat(errors).toString().trim()})`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      }
      res.end();
    });
  }

  return {
    handle,
    close: () => {
      for (const child of running) killGroup(child);
    },
  };
}
