// Where a task's commit comes from: the user's local repository, an uploaded bundle or a remote.
// Each source is fetched into a bare mirror per repository; the user's uncommitted changes come
// back as a binary patch that is applied in the task's view.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, copyFile, rm, stat, writeFile, rename, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RepoSpec } from '../../../protocol';
import { addPaths, git, gitMaybe, runGit, firstLine, repoError, NEUTRAL_ATTRIBUTES, type GitResult, type GitRun } from './git';
import { bundlePackProblem } from './bundleCheck';
import { mirrorName, stripCredentials } from './parse';
import { OBJECT_ID, readRepoFacts, type RepoFacts } from './repoFiles';
import type { RepoWatches, WatchHooks } from './repoWatch';
import type { ResolvedRepo } from './types';

export interface SourceContext {
  dataDir: string;
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  fetchToken?: string;
  /** Watched local repositories: a scan of an untouched one is not repeated. */
  watches?: RepoWatches;
}

export interface ResolvedSource {
  repo: ResolvedRepo;
  /**
   * Binary patch of the user's uncommitted changes (tracked + untracked), if any. A promise: the
   * scan of the user's tree runs while the view is mounted.
   */
  patch?: Promise<string | undefined>;
}


/** Without undefined members, so the value survives a JSON round trip unchanged. */
function resolved(repo: ResolvedRepo): ResolvedRepo {
  return Object.fromEntries(Object.entries(repo).filter(([, v]) => v !== undefined)) as unknown as ResolvedRepo;
}

export async function ensureMirror(mirrorDir: string): Promise<void> {
  try {
    await stat(join(mirrorDir, 'HEAD'));
    return;
  } catch {
    // create below
  }
  const tmp = `${mirrorDir}.tmp-${process.pid}-${Date.now()}`;
  await git(['init', '--bare', '-q', tmp]);
  // Packs only (no loose objects) so task git dirs can hardlink everything they need.
  for (const [k, v] of [
    ['fetch.unpackLimit', '1'],
    ['transfer.unpackLimit', '1'],
    ['gc.auto', '0'],
    ['core.logAllRefUpdates', 'false'],
  ] as const) {
    await git(['config', k, v], { gitDir: tmp });
  }
  await writeFile(join(tmp, 'info', 'attributes'), NEUTRAL_ATTRIBUTES);
  try {
    await rename(tmp, mirrorDir);
  } catch {
    // someone else created it first
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function hasCommit(gitDir: string, commit: string): Promise<boolean> {
  // Pinned commits are loose refs (mirrors are never packed): a stat instead of a process.
  if (OBJECT_ID.test(commit) && (await stat(join(gitDir, 'refs', 'pins', commit)).then(() => true, () => false))) return true;
  return (await runGit(['cat-file', '-e', `${commit}^{commit}`], { gitDir })).code === 0;
}

async function pin(mirrorDir: string, commit: string): Promise<void> {
  await git(['update-ref', `refs/pins/${commit}`, commit], { gitDir: mirrorDir });
}

export async function resolveLocal(spec: Extract<RepoSpec, { kind: 'local' }>, ctx: SourceContext): Promise<ResolvedSource> {
  let path: string;
  try {
    path = await realpath(spec.path);
  } catch {
    throw missingRepo(spec.path);
  }
  const user: GitRun = { cwd: path, userRepo: true, signal: ctx.signal };
  const watches = spec.includeUncommitted === false ? undefined : ctx.watches;
  // The scan of the user's tree for uncommitted changes is the slow part: it starts first and runs
  // while the repository is inspected, the mirror checked and the view mounted. Unless the
  // repository is watched and nothing changed since the last scan (repoWatch.ts).
  let scan = spec.includeUncommitted === false || watches?.offers(path) ? null : scanStatus(user);
  const simple = await readRepoFacts(path);
  const facts = simple ?? (await askGit(path, spec, user));
  const { top, indexPath, objectsPath, head, symbolic } = facts;
  const originUrl = spec.remoteUrl ?? facts.originUrl;
  const commit = spec.commit ?? head;
  if (!commit) throw noCommits(spec.path);
  const branch = spec.branch ?? (symbolic?.startsWith('refs/heads/') ? symbolic.slice('refs/heads/'.length) : undefined);
  const origin = originUrl || undefined;
  let kept: string | undefined;
  if (watches && head && !scan) {
    kept = simple ? await watches.kept(path) : undefined;
    if (kept === undefined) scan = scanStatus(user);
  }
  if (watches && simple) watches.use(path, watchHooks(simple.top, ctx.dataDir));
  // Whoever applies the patch awaits it.
  let patch: Promise<string | undefined> | undefined;
  const found = kept !== undefined ? Promise.resolve(kept) : scan && head ? scan.then((status) => uncommittedPatch(status, { top, head, indexPath, objectsPath }, ctx)) : undefined;
  if (found && head) {
    patch = found.then((text) => {
      if (text && spec.commit && spec.commit !== head) {
        ctx.onLog?.(`Applying uncommitted changes (made on ${head.slice(0, 12)}) to ${spec.commit.slice(0, 12)}`);
      }
      return text || undefined;
    });
    patch.catch(() => undefined); // awaited later; a failure before then must not go unhandled
  }
  const mirrorDir = join(ctx.dataDir, 'repos', mirrorName('local', top));
  await ensureMirror(mirrorDir);
  if (!(await hasCommit(mirrorDir, commit))) {
    ctx.onLog?.(`Fetching ${commit.slice(0, 12)} from ${top}`);
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', top, `${commit}:refs/pins/${commit}`], {
      gitDir: mirrorDir,
      protocols: ['file'],
      signal: ctx.signal,
    });
    if (r.code !== 0) throw repoError(`could not fetch ${commit.slice(0, 12)} from ${top}: ${firstLine(r.stderr)}`);
  }
  return {
    repo: resolved({ name: basename(top), commit, branch, remoteUrl: origin ? stripCredentials(origin) : undefined, mirrorDir }),
    patch,
  };
}

const missingRepo = (path: string) => repoError(`repository path ${path} does not exist`);
const noCommits = (path: string) => repoError(`${path} has no commits yet; commit something first`);

/**
 * Why a local repository cannot work, known before any task exists (POST /v1/tasks answers 422 with
 * it); null when it can. The first checks of resolveLocal, with the same messages.
 */
export async function localRepoProblem(spec: Extract<RepoSpec, { kind: 'local' }>): Promise<string | null> {
  try {
    const path = await realpath(spec.path).catch(() => Promise.reject(missingRepo(spec.path)));
    const facts = (await readRepoFacts(path)) ?? (await askGit(path, spec, { cwd: path, userRepo: true }));
    if (!(spec.commit ?? facts.head)) throw noCommits(spec.path);
    return null;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'repo_error') return (err as Error).message;
    throw err;
  }
}

/** readRepoFacts() for the repositories it passes over: worktrees, unborn branches, includes. */
async function askGit(path: string, spec: Extract<RepoSpec, { kind: 'local' }>, user: GitRun): Promise<Omit<RepoFacts, 'head'> & { head: string | null }> {
  // One rev-parse answers most questions (an unborn HEAD makes it fail, hence the fallback); the
  // origin URL is asked at the same time.
  const probe = ['rev-parse', '--show-toplevel', '--path-format=absolute', '--git-path', 'index', '--git-path', 'objects'];
  const [full, originUrl] = await Promise.all([
    gitMaybe([...probe, 'HEAD^{commit}', '--symbolic-full-name', 'HEAD'], user),
    spec.remoteUrl ? null : gitMaybe(['config', '--get', 'remote.origin.url'], user),
  ]);
  let info = full?.split('\n');
  if (!info) {
    info = (await gitMaybe(probe, user))?.split('\n');
    if (!info) throw repoError(`${spec.path} is not a git repository with a work tree`);
  }
  const [top = path, indexPath = '', objectsPath = '', head = null, symbolic = null] = info;
  return { top, indexPath, objectsPath, head, symbolic, originUrl };
}

/** What the repository watch needs to vouch for `top` without a scan (see repoWatch.ts). */
function watchHooks(top: string, dataDir: string): WatchHooks {
  const user: GitRun = { cwd: top, userRepo: true };
  const readOnly: GitRun = { ...user, env: { GIT_OPTIONAL_LOCKS: '0' } };
  let excludesFile = '';
  return {
    async list() {
      const [files, excludes] = await Promise.all([
        runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], readOnly),
        gitMaybe(['config', '--path', '--get', 'core.excludesFile'], readOnly),
      ]);
      if (files.code !== 0) throw repoError(`could not list ${top}: ${firstLine(files.stderr)}`);
      excludesFile = excludes ?? '';
      return files.stdout.toString('utf8').split('\0').filter(Boolean);
    },
    async stamp() {
      const facts = await readRepoFacts(top);
      return facts ? stampOf(facts, excludesFile) : null;
    },
    async scan() {
      const facts = await readRepoFacts(top);
      if (!facts) throw repoError(`${top} is no longer a plain repository`);
      const status = await scanStatus(user);
      const patch = await uncommittedPatch(status, { top, head: facts.head, indexPath: facts.indexPath, objectsPath: facts.objectsPath }, { dataDir });
      return { patch, paths: statusEntries(status).map((e) => e.slice(3)) };
    },
  };
}

/**
 * HEAD and the files that decide what a scan finds besides the work tree: the index, and what sets
 * ignore rules, attributes and config (the repository's, the user's, the system's).
 */
async function stampOf(facts: RepoFacts, excludesFile: string): Promise<string> {
  const gitDir = dirname(facts.indexPath);
  const home = process.env.HOME ?? '/';
  const xdg = process.env.XDG_CONFIG_HOME || join(home, '.config');
  const files = [
    facts.indexPath, join(gitDir, 'config'), join(gitDir, 'info', 'exclude'), join(gitDir, 'info', 'attributes'), join(gitDir, 'info', 'sparse-checkout'),
    join(home, '.gitconfig'), join(xdg, 'git', 'config'), join(xdg, 'git', 'ignore'), join(xdg, 'git', 'attributes'), '/etc/gitconfig', '/etc/gitattributes',
    ...(excludesFile ? [excludesFile] : []),
  ];
  const stats = await Promise.all(files.map((f) => stat(f, { bigint: true }).then((s) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, () => '-')));
  return JSON.stringify([facts.head, facts.symbolic, ...stats]);
}

function statusEntries(status: GitResult): string[] {
  return status.stdout.toString('utf8').split('\0').filter((e) => e.length > 3);
}

/**
 * Which paths differ from HEAD, in the user's repository (from any directory in it). Read-only: no
 * index refresh is written back into their repository.
 */
function scanStatus(user: GitRun): Promise<GitResult> {
  return runGit(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=all'], {
    ...user,
    env: { GIT_OPTIONAL_LOCKS: '0' },
  });
}

/**
 * The user's uncommitted changes against HEAD — tracked edits and untracked files that are not
 * ignored — as a binary patch, from the scan above. A copy of their index and a private object
 * directory (borrowing theirs) keep their repository untouched.
 */
async function uncommittedPatch(
  status: GitResult,
  where: { top: string; head: string; indexPath: string; objectsPath: string },
  ctx: SourceContext,
): Promise<string> {
  const { top, head, indexPath, objectsPath } = where;
  const user: GitRun = { cwd: top, userRepo: true, signal: ctx.signal };
  if (status.code !== 0) throw repoError(`could not read uncommitted changes in ${top}: ${firstLine(status.stderr)}`);
  // Most of the time nothing differs, and that one scan of their tree is all it takes.
  const entries = statusEntries(status);
  if (entries.length === 0) return '';
  // "XY path": Y is the work tree against the index. Where it is blank the copy of their index
  // already holds the change (staged edits, `git rm`); the rest git must look at.
  const paths = entries.filter((e) => e[1] !== ' ').map((e) => e.slice(3));
  const tmp = await mkdtemp(join(ctx.dataDir, 'tmp', 'uncommitted-'));
  try {
    const index = join(tmp, 'index');
    await copyFile(indexPath, index).catch(() => undefined);
    await mkdir(join(tmp, 'objects'), { recursive: true });
    const env = { GIT_OBJECT_DIRECTORY: join(tmp, 'objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: objectsPath };
    const run: GitRun = { ...user, indexFile: index, env };
    // Only the paths status named: git hashes and stages those, not the whole tree again.
    const added = paths.length === 0 ? { code: 0, stderr: '' } : await addPaths(paths, run);
    if (added.code !== 0 && added.code !== 1) throw repoError(`could not read uncommitted changes in ${top}: ${firstLine(added.stderr)}`);
    const diff = await runGit(
      ['diff', '--cached', '--binary', '--no-color', '--no-ext-diff', '--no-textconv', '--no-relative', '--ignore-submodules=all', '--src-prefix=a/', '--dst-prefix=b/', head],
      run,
    );
    if (diff.code !== 0) throw repoError(`could not diff uncommitted changes in ${top}: ${firstLine(diff.stderr)}`);
    return diff.stdout.toString('utf8');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function bundlePath(dataDir: string, bundleId: string): string {
  return join(dataDir, 'bundles', `${bundleId}.bundle`);
}

/** The refs a bundle carries (`git bundle list-heads`), which also checks its format. */
export async function bundleHeads(file: string): Promise<{ ref: string; commit: string }[] | null> {
  const r = await runGit(['bundle', 'list-heads', file], { cwd: '/' });
  if (r.code !== 0) return null;
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [commit = '', ref = ''] = l.split(' ');
      return { commit, ref };
    });
}

export async function resolveBundle(spec: Extract<RepoSpec, { kind: 'bundle' }>, ctx: SourceContext): Promise<ResolvedSource> {
  const file = bundlePath(ctx.dataDir, spec.bundleId);
  const heads = await bundleHeads(file);
  if (!heads) throw repoError(`bundle ${spec.bundleId} is unknown or not a valid git bundle; upload it again`);
  const identity = spec.remoteUrl ? stripCredentials(spec.remoteUrl) : (spec.name ?? 'default');
  const mirrorDir = join(ctx.dataDir, 'repos', mirrorName('bundle', identity));
  await ensureMirror(mirrorDir);
  if (!(await hasCommit(mirrorDir, spec.commit))) {
    ctx.onLog?.(`Importing bundle ${spec.bundleId}`);
    const refspecs = heads.filter((h) => h.ref === 'HEAD' || h.ref.startsWith('refs/')).map((h) => `+${h.ref}:refs/imported/${spec.bundleId}/${h.ref}`);
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', file, ...refspecs], {
      gitDir: mirrorDir,
      protocols: ['file'],
      signal: ctx.signal,
    });
    if (r.code !== 0) {
      const missing = /prerequisite/i.test(r.stderr);
      throw repoError(
        missing
          ? `bundle ${spec.bundleId} builds on commits the server does not have; send a bundle with full history`
          : `could not import bundle ${spec.bundleId}: ${firstLine(r.stderr)}`,
      );
    }
    if (!(await hasCommit(mirrorDir, spec.commit))) throw repoError(`bundle ${spec.bundleId} does not contain commit ${spec.commit}`);
  }
  await pin(mirrorDir, spec.commit);
  return {
    repo: resolved({
      name: spec.name ?? basename(identity).replace(/\.git$/, ''),
      commit: spec.commit,
      branch: spec.branch,
      remoteUrl: spec.remoteUrl ? stripCredentials(spec.remoteUrl) : undefined,
      mirrorDir,
    }),
    patch: spec.patch ? Promise.resolve(spec.patch) : undefined,
  };
}

/** Git's http.extraHeader for a token, passed through the environment only (never argv or disk). */
export function tokenEnv(token: string | undefined): Record<string, string> {
  if (!token) return {};
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` };
}

export async function resolveRemote(spec: Extract<RepoSpec, { kind: 'remote' }>, ctx: SourceContext): Promise<ResolvedSource> {
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw repoError(`remote ${spec.url} is not a URL; use https://…`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw repoError(`remote ${spec.url}: only http(s) remotes are supported`);
  if (url.username || url.password) throw repoError('remote URLs must not carry credentials; pass the token separately');
  const clean = url.toString();
  const mirrorDir = join(ctx.dataDir, 'repos', mirrorName('remote', clean));
  await ensureMirror(mirrorDir);
  const run: GitRun = { gitDir: mirrorDir, protocols: ['http', 'https'], env: tokenEnv(ctx.fetchToken), signal: ctx.signal };
  let commit = spec.commit;
  if (!commit || !(await hasCommit(mirrorDir, commit))) {
    const source = spec.branch ? `refs/heads/${spec.branch}` : 'HEAD';
    const target = spec.branch ? `refs/remotes/origin/${spec.branch}` : 'refs/remotes/origin/HEAD';
    ctx.onLog?.(`Fetching ${spec.branch ?? 'HEAD'} from ${clean}`);
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', clean, `+${source}:${target}`], run);
    if (r.code !== 0) throw repoError(`could not fetch ${spec.branch ?? 'HEAD'} from ${clean}: ${firstLine(r.stderr)}`);
    const tip = await git(['rev-parse', '--verify', `${target}^{commit}`], { gitDir: mirrorDir });
    commit ??= tip;
    if (!(await hasCommit(mirrorDir, commit))) {
      const c = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', clean, `${commit}:refs/pins/${commit}`], run);
      if (c.code !== 0) throw repoError(`could not fetch commit ${commit} from ${clean}: ${firstLine(c.stderr)}`);
    }
  }
  if (!OBJECT_ID.test(commit)) throw repoError(`bad commit id ${commit}`);
  await pin(mirrorDir, commit);
  const name = basename(url.pathname.replace(/\/+$/, '')).replace(/\.git$/, '') || url.hostname;
  return { repo: resolved({ name, commit, branch: spec.branch, remoteUrl: clean, mirrorDir }) };
}

/** Stores an uploaded bundle under its content hash after checking that git can read it. */
export async function storeBundle(dataDir: string, data: Buffer): Promise<string> {
  const id = createHash('sha256').update(data).digest('hex').slice(0, 40);
  const dir = join(dataDir, 'bundles');
  await mkdir(dir, { recursive: true });
  const final = bundlePath(dataDir, id);
  const tmp = `${final}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, data, { mode: 0o600 });
  const heads = await bundleHeads(tmp);
  if (!heads || heads.length === 0) {
    await rm(tmp, { force: true });
    throw repoError('the upload is not a git bundle with at least one ref (git bundle create … HEAD)');
  }
  const damaged = await bundlePackProblem(tmp, {});
  if (damaged) {
    await rm(tmp, { force: true });
    throw repoError(`the upload is not a usable git bundle: ${damaged}`);
  }
  await rename(tmp, final);
  return id;
}

