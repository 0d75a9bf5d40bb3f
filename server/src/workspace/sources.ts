// Where a task's commit comes from: the user's local repository, an uploaded bundle or a remote.
// Each source is fetched into a bare mirror per repository; the user's uncommitted changes come
// back as a binary patch that is applied in the task's view.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile, rename, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RepoSpec } from '../../../protocol';
import { git, gitMaybe, runGit, firstLine, repoError, NEUTRAL_ATTRIBUTES, type GitRun, type Host } from './git';
import type { ProcessRunner } from '../util/processRunner';
import { bundlePackProblem } from './bundleCheck';
import { copyCommit, noteCopied } from './localCopy';
import { mirrorName, stripCredentials } from './parse';
import { OBJECT_ID, readRepoFacts, type RepoFacts } from './repoFiles';
import type { ScanTarget, UncommittedScanner } from './scanner';
import type { ResolvedRepo } from './types';

export interface SourceContext {
  host: Host;
  dataDir: string;
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  fetchToken?: string;
  /** Finds the user's uncommitted changes in a local repository. */
  scanner: UncommittedScanner;
  /** An uploaded bundle this node's disk does not hold (a fleet: uploaded to another node), from the store. */
  fetchBundle?: (bundleId: string) => Promise<Buffer | undefined>;
}

export interface ResolvedSource {
  repo: ResolvedRepo;
  /**
   * Binary patch of the user's uncommitted changes (tracked + untracked), if any. A promise: the
   * scan of the user's tree runs while the view is mounted.
   */
  patch?: Promise<string | undefined>;
  /**
   * A local repository's new commit is copied into the mirror in the background: `done` settles
   * once it is there (rejects when it could not be), and `objects`, the user's own object
   * directory, holds it meanwhile. Absent: the mirror has it already.
   */
  copying?: { done: Promise<void>; objects: string };
}

/** Without undefined members, so the value survives a JSON round trip unchanged. */
function resolved(repo: ResolvedRepo): ResolvedRepo {
  return Object.fromEntries(Object.entries(repo).filter(([, v]) => v !== undefined)) as unknown as ResolvedRepo;
}

/**
 * A temporary name beside `path`, unique per call: two writers of the same file in one process
 * (a task's prepare and a POST /v1/tasks fetching the same bundle) may start in one millisecond.
 */
const tmpBeside = (path: string): string => `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;

export async function ensureMirror(host: Host, mirrorDir: string): Promise<void> {
  try {
    await stat(join(mirrorDir, 'HEAD'));
    return;
  } catch {
    // create below
  }
  const tmp = tmpBeside(mirrorDir);
  await git(['init', '--bare', '-q', tmp], { host });
  // Packs only (no loose objects) so task git dirs can hardlink everything they need.
  for (const [k, v] of [
    ['fetch.unpackLimit', '1'],
    ['transfer.unpackLimit', '1'],
    ['gc.auto', '0'],
    ['core.logAllRefUpdates', 'false'],
  ] as const) {
    await git(['config', k, v], { host, gitDir: tmp });
  }
  await writeFile(join(tmp, 'info', 'attributes'), NEUTRAL_ATTRIBUTES);
  try {
    await rename(tmp, mirrorDir);
  } catch {
    // someone else created it first
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The mirror pinned the commit when it got it (pins are loose refs: mirrors are never packed). */
function isPinned(gitDir: string, commit: string): Promise<boolean> {
  return OBJECT_ID.test(commit) ? stat(join(gitDir, 'refs', 'pins', commit)).then(() => true, () => false) : Promise.resolve(false);
}

export async function hasCommit(host: Host, gitDir: string, commit: string): Promise<boolean> {
  if (await isPinned(gitDir, commit)) return true;
  return (await runGit(['cat-file', '-e', `${commit}^{commit}`], { host, gitDir })).code === 0;
}

async function pin(host: Host, mirrorDir: string, commit: string): Promise<void> {
  await git(['update-ref', `refs/pins/${commit}`, commit], { host, gitDir: mirrorDir });
}

export async function resolveLocal(spec: Extract<RepoSpec, { kind: 'local' }>, ctx: SourceContext): Promise<ResolvedSource> {
  let path: string;
  try {
    path = await realpath(spec.path);
  } catch {
    throw missingRepo(spec.path);
  }
  const user: GitRun = { host: ctx.host, cwd: path, userRepo: true, signal: ctx.signal };
  // The scan of the user's tree for uncommitted changes is the slow part: it starts first and runs
  // while the repository is inspected, the mirror checked and the view mounted.
  const inspected = (async () => {
    const simple = await readRepoFacts(path);
    return { facts: simple ?? (await askGit(path, spec, user)), plain: simple !== null };
  })();
  const target: Promise<ScanTarget> = inspected.then(({ facts, plain }) => ({ ...facts, plain }));
  const found = spec.includeUncommitted === false ? undefined : ctx.scanner.scan(path, target, { host: ctx.host, dataDir: ctx.dataDir, signal: ctx.signal });
  found?.catch(() => undefined); // awaited below, or not at all when the repository cannot work
  const { facts } = await inspected;
  const { top, head, symbolic } = facts;
  const originUrl = spec.remoteUrl ?? facts.originUrl;
  const commit = spec.commit ?? head;
  if (!commit) throw noCommits(spec.path);
  const branch = spec.branch ?? (symbolic?.startsWith('refs/heads/') ? symbolic.slice('refs/heads/'.length) : undefined);
  const origin = originUrl || undefined;
  // Whoever applies the patch awaits it.
  const patch = found?.then((text) => {
    if (text && head && spec.commit && spec.commit !== head) {
      ctx.onLog?.(`Applying uncommitted changes (made on ${head.slice(0, 12)}) to ${spec.commit.slice(0, 12)}`);
    }
    return text || undefined;
  });
  patch?.catch(() => undefined); // awaited later; a failure before then must not go unhandled
  const mirrorDir = join(ctx.dataDir, 'repos', mirrorName('local', top));
  await ensureMirror(ctx.host, mirrorDir);
  // A local mirror gets each commit by a copy or a fetch, and both pin it: an unpinned commit is
  // copied without first asking git whether the mirror has it (a copy of one it has is empty).
  // The copy runs while the task's base is built from the user's own objects (bases.ts).
  const done = (await isPinned(mirrorDir, commit)) ? undefined : copyIntoMirror(ctx, top, mirrorDir, commit);
  done?.catch(() => undefined); // awaited by whoever reads the mirror
  return {
    repo: resolved({ name: basename(top), commit, branch, remoteUrl: origin ? stripCredentials(origin) : undefined, mirrorDir }),
    patch,
    ...(done ? { copying: { done, objects: facts.objectsPath } } : {}),
  };
}

/** A commit of the user's repository into its mirror: copied (localCopy.ts), else fetched. */
async function copyIntoMirror(ctx: SourceContext, top: string, mirrorDir: string, commit: string): Promise<void> {
  ctx.onLog?.(`Fetching ${commit.slice(0, 12)} from ${top}`);
  if (!(await copyCommit({ host: ctx.host, top, mirrorDir, commit, signal: ctx.signal }))) {
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', top, `${commit}:refs/pins/${commit}`], {
      host: ctx.host,
      gitDir: mirrorDir,
      protocols: ['file'],
      signal: ctx.signal,
    });
    if (r.code !== 0) throw repoError(`could not fetch ${commit.slice(0, 12)} from ${top}: ${firstLine(r.stderr)}`);
  }
  await noteCopied(mirrorDir, commit);
}

const missingRepo = (path: string) => repoError(`repository path ${path} does not exist`);
const noCommits = (path: string) => repoError(`${path} has no commits yet; commit something first`);

/**
 * Why a local repository cannot work, known before any task exists (POST /v1/tasks answers 422 with
 * it); null when it can. The first checks of resolveLocal, with the same messages.
 */
export async function localRepoProblem(spec: Extract<RepoSpec, { kind: 'local' }>, host: Host): Promise<string | null> {
  try {
    const path = await realpath(spec.path).catch(() => Promise.reject(missingRepo(spec.path)));
    const facts = (await readRepoFacts(path)) ?? (await askGit(path, spec, { host, cwd: path, userRepo: true }));
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

function bundlePath(dataDir: string, bundleId: string): string {
  return join(dataDir, 'bundles', `${bundleId}.bundle`);
}

/** Said of a bundle this server does not hold, or that the asking user did not upload. */
export const unknownBundle = (bundleId: string) => `bundle ${bundleId} is unknown or not a valid git bundle; upload it again`;

/**
 * Puts an uploaded bundle on this node's disk (a cache) from the store when it is not there yet;
 * true when the file is there afterwards. Written whole and renamed: a reader never sees half.
 */
export async function ensureBundleFile(dataDir: string, bundleId: string, fetch: ((bundleId: string) => Promise<Buffer | undefined>) | undefined): Promise<boolean> {
  const file = bundlePath(dataDir, bundleId);
  if (await stat(file).then((s) => s.isFile(), () => false)) return true;
  if (!fetch || !/^[0-9a-f]{40}$/.test(bundleId)) return false;
  const data = await fetch(bundleId);
  if (!data) return false;
  await mkdir(join(dataDir, 'bundles'), { recursive: true });
  const tmp = tmpBeside(file);
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, file);
  return true;
}

/** Why a bundle task cannot start, known before any task exists (POST /v1/tasks answers 422); null when its bundle is here. */
export async function bundleProblem(spec: Extract<RepoSpec, { kind: 'bundle' }>, dataDir: string): Promise<string | null> {
  const here = await stat(bundlePath(dataDir, spec.bundleId)).then((s) => s.isFile(), () => false);
  return here ? null : unknownBundle(spec.bundleId);
}

/** The refs a bundle carries (`git bundle list-heads`), which also checks its format. */
export async function bundleHeads(file: string, runner: ProcessRunner): Promise<{ ref: string; commit: string }[] | null> {
  const r = await runGit(['bundle', 'list-heads', file], { host: { runner, env: {} }, cwd: '/' });
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
  await ensureBundleFile(ctx.dataDir, spec.bundleId, ctx.fetchBundle);
  const heads = await bundleHeads(file, ctx.host.runner);
  if (!heads) throw repoError(unknownBundle(spec.bundleId));
  const identity = spec.remoteUrl ? stripCredentials(spec.remoteUrl) : (spec.name ?? 'default');
  const mirrorDir = join(ctx.dataDir, 'repos', mirrorName('bundle', identity));
  await ensureMirror(ctx.host, mirrorDir);
  if (!(await hasCommit(ctx.host, mirrorDir, spec.commit))) {
    ctx.onLog?.(`Importing bundle ${spec.bundleId}`);
    const refspecs = heads.filter((h) => h.ref === 'HEAD' || h.ref.startsWith('refs/')).map((h) => `+${h.ref}:refs/imported/${spec.bundleId}/${h.ref}`);
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', file, ...refspecs], {
      host: ctx.host,
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
    if (!(await hasCommit(ctx.host, mirrorDir, spec.commit))) throw repoError(`bundle ${spec.bundleId} does not contain commit ${spec.commit}`);
  }
  await pin(ctx.host, mirrorDir, spec.commit);
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
  await ensureMirror(ctx.host, mirrorDir);
  const run: GitRun = { host: ctx.host, gitDir: mirrorDir, protocols: ['http', 'https'], env: tokenEnv(ctx.fetchToken), signal: ctx.signal };
  let commit = spec.commit;
  if (!commit || !(await hasCommit(ctx.host, mirrorDir, commit))) {
    const source = spec.branch ? `refs/heads/${spec.branch}` : 'HEAD';
    const target = spec.branch ? `refs/remotes/origin/${spec.branch}` : 'refs/remotes/origin/HEAD';
    ctx.onLog?.(`Fetching ${spec.branch ?? 'HEAD'} from ${clean}`);
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', clean, `+${source}:${target}`], run);
    if (r.code !== 0) throw repoError(`could not fetch ${spec.branch ?? 'HEAD'} from ${clean}: ${firstLine(r.stderr)}`);
    const tip = await git(['rev-parse', '--verify', `${target}^{commit}`], { host: ctx.host, gitDir: mirrorDir });
    commit ??= tip;
    if (!(await hasCommit(ctx.host, mirrorDir, commit))) {
      const c = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', clean, `${commit}:refs/pins/${commit}`], run);
      if (c.code !== 0) throw repoError(`could not fetch commit ${commit} from ${clean}: ${firstLine(c.stderr)}`);
    }
  }
  if (!OBJECT_ID.test(commit)) throw repoError(`bad commit id ${commit}`);
  await pin(ctx.host, mirrorDir, commit);
  const name = basename(url.pathname.replace(/\/+$/, '')).replace(/\.git$/, '') || url.hostname;
  return { repo: resolved({ name, commit, branch: spec.branch, remoteUrl: clean, mirrorDir }) };
}

/** Stores an uploaded bundle under its content hash after checking that git can read it. */
export async function storeBundle(dataDir: string, data: Buffer, runner: ProcessRunner): Promise<string> {
  const id = createHash('sha256').update(data).digest('hex').slice(0, 40);
  const dir = join(dataDir, 'bundles');
  await mkdir(dir, { recursive: true });
  const final = bundlePath(dataDir, id);
  const tmp = tmpBeside(final);
  await writeFile(tmp, data, { mode: 0o600 });
  const heads = await bundleHeads(tmp, runner);
  if (!heads || heads.length === 0) {
    await rm(tmp, { force: true });
    throw repoError('the upload is not a git bundle with at least one ref (git bundle create … HEAD)');
  }
  const damaged = await bundlePackProblem(tmp, { host: { runner, env: {} } });
  if (damaged) {
    await rm(tmp, { force: true });
    throw repoError(`the upload is not a usable git bundle: ${damaged}`);
  }
  await rename(tmp, final);
  return id;
}

/** Which mirror a source fills: tasks on the same one take turns (the manager's lock per source). */
export function sourceIdentity(repo: RepoSpec): string {
  switch (repo.kind) {
    case 'local':
      return `local:${repo.path}`;
    case 'bundle':
      return `bundle:${repo.remoteUrl ?? repo.name ?? 'default'}`;
    case 'remote':
      return `remote:${repo.url}`;
  }
}

/** A task's commit, in its repository's mirror, from wherever the spec says it comes from. */
export function resolveSource(repo: RepoSpec, ctx: SourceContext): Promise<ResolvedSource> {
  switch (repo.kind) {
    case 'local':
      return resolveLocal(repo, ctx);
    case 'bundle':
      return resolveBundle(repo, ctx);
    case 'remote':
      return resolveRemote(repo, ctx);
  }
}
