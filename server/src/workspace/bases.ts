// The shared, read-only base under every task view on a commit:
//   DATA/bases/<commit>            a layer: the whole tree, or only what differs from the base it
//                                  was built on (changed files, and whiteouts for deleted ones)
//   DATA/bases/<commit>.layers     the layers a view stacks, top first, one layer name a line
//   DATA/bases/<commit>.index      the commit's index, with the stat data of the files a view shows
//   DATA/bases/<commit>.flat       (and .flat.index) the commit's whole tree, made from a deep stack
//   DATA/repos/<mirror>/delegate-last-base   the base built last for that repository (its name)
//
// Why layers: every commit a user makes is new, and checking out a whole tree for it costs ~1 s on
// 5,000 files and many seconds on 50,000 here. A new commit's base is built on the repository's
// last one instead: git writes only the files that differ (`read-tree -m -u` from the old commit
// to the new, starting from the old index, into an empty directory), a deleted file or directory
// gets an overlay whiteout (a 0/0 character device), and the task's overlay mounts the layers as
// its lower directories. The cost follows the size of the change, not of the repository
// (`npm run bench --files=50000`, cold figures). After MAX_LAYERS layers, or when many files
// differ, the whole tree is checked out again and starts a new stack. A local repository's new
// commit is still being copied into the mirror while its layer is built: git reads the user's own
// objects for it (BaseOptions.copying), so the copy and the layer take their time side by side.
//
// So that a task rarely waits for that whole checkout, a stack FLATTEN_AT layers deep has its top
// commit checked out in full in the background (flattenBase), as a base of its own named
// `<commit>.flat`; once there, it is the repository's last base, and the next new commits stack
// on it. The stacked base stays for the tasks that mount it.
import { chmod, chown, copyFile, lchown, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { firstLine, runGit, type Host } from './git';
import type { ProcessRunner } from '../util/processRunner';
import { checkoutTree, run } from './view';

/** Layers under a view at most (overlay lookups walk them; the mount options must hold them). */
export const MAX_LAYERS = 8;
/** Files differing from the last base beyond which a full checkout is the simpler way. */
export const MAX_CHANGED = 5000;
/**
 * A stack this deep has its top commit flattened in the background: the next two new commits
 * still stack on it meanwhile, before a full stack would make a task wait for a checkout. (A
 * shallower threshold flattens more often: with commits back to back, as in `npm run bench`,
 * that checkout then takes the cores from the tasks.)
 */
export const FLATTEN_AT = MAX_LAYERS - 2;

const FLAT = '.flat';

/** The commit a layer shows: a flattened base is named after its commit (flattenBase). */
export function commitOf(name: string): string {
  return name.endsWith(FLAT) ? name.slice(0, -FLAT.length) : name;
}

export interface Base {
  /** The layer directories for the overlay's lowerdir, top first. */
  layers: string[];
  /** The names of those layers: their commits, `<commit>.flat` for a flattened base (what a workspace records to find them again). */
  commits: string[];
  /** The commit's index with stat data matching the view's files. */
  index: string;
}

export interface BaseOptions {
  host: Host;
  dataDir: string;
  /** A git dir holding the commit (the mirror, or a task's own git dir). */
  gitDir: string;
  commit: string;
  /** The repository's mirror directory: which bases a new one may be built on. */
  mirrorDir: string;
  uid: number;
  /**
   * The commit is still being copied into `gitDir` (ResolvedSource.copying: a local repository's
   * new commit). A layer is then built from the user's objects beside the copy, as root (the
   * sandbox user cannot read the user's repository) with its files handed to the sandbox user
   * afterwards; a full checkout waits for the copy.
   */
  copying?: { done: Promise<void>; objects: string };
}

export function basesDir(dataDir: string): string {
  return join(dataDir, 'bases');
}

function layerDir(dataDir: string, commit: string): string {
  return join(basesDir(dataDir), commit);
}

function latestFile(mirrorDir: string): string {
  return join(mirrorDir, 'delegate-last-base');
}

/** The name of the base built last for a repository; '' when none is noted. */
export async function readLatest(mirrorDir: string): Promise<string> {
  return (await readFile(latestFile(mirrorDir), 'utf8').catch(() => '')).trim();
}

/** The commits of a complete base, top first; null when there is none (or it is unfinished). */
export async function readLayers(dataDir: string, commit: string): Promise<string[] | null> {
  const dir = layerDir(dataDir, commit);
  try {
    await stat(dir);
    await stat(`${dir}.index`);
  } catch {
    return null;
  }
  const text = await readFile(`${dir}.layers`, 'utf8').catch(() => null);
  return text === null ? [commit] : text.split('\n').filter(Boolean);
}

/** The layer directories of a base's commits (Base.commits, as a workspace recorded them). */
export function layerDirs(dataDir: string, commits: string[]): string[] {
  return commits.map((c) => layerDir(dataDir, c));
}

function baseOf(dataDir: string, commits: string[]): Base {
  return { layers: commits.map((c) => layerDir(dataDir, c)), commits, index: `${layerDir(dataDir, commits[0]!)}.index` };
}

/** The name of a commit's flattened base (flattenBase). */
function flatName(commit: string): string {
  return `${commit}${FLAT}`;
}

/** The names of a commit's bases: the flattened one first (one layer instead of a stack). */
export function baseNames(commit: string): string[] {
  return [flatName(commit), commit];
}

/** Whether a commit has a complete base (stacked or flattened). */
export async function hasBase(dataDir: string, commit: string): Promise<boolean> {
  return (await Promise.all(baseNames(commit).map((name) => readLayers(dataDir, name)))).some(Boolean);
}

/** The base for a commit, built once (callers serialise per commit). */
export async function ensureBase(opts: BaseOptions): Promise<Base> {
  for (const name of baseNames(opts.commit)) {
    const known = await readLayers(opts.dataDir, name);
    if (known) return baseOf(opts.dataDir, known);
  }
  const bases = basesDir(opts.dataDir);
  await mkdir(bases, { recursive: true });
  const tmp = await mkdtemp(join(bases, '.tmp-'));
  try {
    await chmod(tmp, 0o755); // the sandbox user writes the tree inside
    const tree = join(tmp, 'tree');
    const previous = await readLatest(opts.mirrorDir);
    const stacked = previous && commitOf(previous) !== opts.commit ? await buildOn(previous, opts, tmp) : null;
    const commits = stacked ?? [opts.commit];
    if (!stacked) await opts.copying?.done;
    const index = stacked ? join(tmp, 'scratch', 'index') : await checkoutTree({ host: opts.host, gitDir: opts.gitDir, tree: opts.commit, dest: tree, scratchDir: join(tmp, 'scratch'), uid: opts.uid });
    // The layer list and the index first: the directory's existence marks the base complete.
    const dir = layerDir(opts.dataDir, opts.commit);
    if (stacked) await writeFile(`${dir}.layers`, `${commits.join('\n')}\n`);
    else await rm(`${dir}.layers`, { force: true });
    await rename(index, `${dir}.index`);
    await rm(dir, { recursive: true, force: true });
    await rename(tree, dir);
    // (The mirror may be gone when a task's own git dir rebuilds its base: then nothing is noted.)
    await writeFile(latestFile(opts.mirrorDir), `${opts.commit}\n`).catch(() => undefined);
    return baseOf(opts.dataDir, commits);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Checks out the whole tree of `opts.commit` (whose base is a stack FLATTEN_AT deep or more) as the
 * base `<commit>.flat`, beside everything else and at the lowest CPU priority (tasks come first;
 * on 50,000 files it is seconds of CPU): only putting it in place takes the bases lock
 * (`locked`). It becomes the repository's last base if that is still one of the stacks on top of
 * this commit (else a newer base is the better one to build on). True when it did.
 */
export async function flattenBase(opts: Omit<BaseOptions, 'copying'> & { signal?: AbortSignal }, locked: <T>(fn: () => Promise<T>) => Promise<T>): Promise<boolean> {
  const name = flatName(opts.commit);
  const dir = layerDir(opts.dataDir, name);
  const tmp = (await readLayers(opts.dataDir, name)) ? null : await mkdtemp(join(basesDir(opts.dataDir), '.tmp-'));
  try {
    let index: string | null = null;
    if (tmp) {
      await chmod(tmp, 0o755); // the sandbox user writes the tree inside
      index = await checkoutTree({ host: opts.host, gitDir: opts.gitDir, tree: opts.commit, dest: join(tmp, 'tree'), scratchDir: join(tmp, 'scratch'), uid: opts.uid, background: true, signal: opts.signal });
    }
    return await locked(async () => {
      if (opts.signal?.aborted) return false;
      if (tmp && index) {
        await rename(index, `${dir}.index`);
        await rm(dir, { recursive: true, force: true });
        await rename(join(tmp, 'tree'), dir);
      }
      const latest = await readLatest(opts.mirrorDir);
      if (latest === name || !(await readLayers(opts.dataDir, latest))?.includes(opts.commit)) return false;
      await writeFile(latestFile(opts.mirrorDir), `${name}\n`);
      return true;
    });
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Writes into `tmp/tree` the layer that turns `previous`'s base into `opts.commit`'s, with the new
 * index in `tmp/scratch/index`. The new stack's commits; null when a full checkout is the better way.
 */
async function buildOn(previous: string, opts: BaseOptions, tmp: string): Promise<string[] | null> {
  const below = await readLayers(opts.dataDir, previous);
  if (!below || below.length >= MAX_LAYERS) return null;
  const { host, gitDir, commit, uid } = opts;
  const tree = join(tmp, 'tree');
  const scratch = join(tmp, 'scratch');
  const index = join(scratch, 'index');
  // From the user's objects as root, the files handed over after; else from the git dir's as the
  // sandbox user, who then needs tree, scratch (git writes index.lock beside the index) and index.
  const fromUser = opts.copying !== undefined;
  const root = process.getuid?.() === 0;
  const env = alternates(opts);
  // What differs (for the whiteouts) is asked while git writes the layer: both only read the
  // commits, and a change too big for a layer is rare enough to waste that work.
  const from = commitOf(previous);
  const [diff, r] = await Promise.all([
    runGit(['diff-tree', '-r', '-z', '--no-renames', '--name-status', from, commit], { host, gitDir, env, maxOutputBytes: 64 << 20 }),
    (async () => {
      await Promise.all([mkdir(tree), mkdir(scratch)]);
      await copyFile(`${layerDir(opts.dataDir, previous)}.index`, index);
      if (root && !fromUser) await Promise.all([chown(tree, uid, uid), chown(scratch, uid, uid), chown(index, uid, uid)]);
      // Unchanged entries keep the old index's stat data (their files are in the layers below);
      // git writes the changed files and records theirs.
      const written = await runGit(['read-tree', '-m', '-u', from, commit], { host, gitDir, env, workTree: tree, indexFile: index, asUid: fromUser ? undefined : uid });
      if (root && fromUser && written.code === 0) await chownTree(tree, uid);
      return written;
    })(),
  ]);
  const fields = diff.stdout.toString('utf8').split('\0');
  const deleted: string[] = [];
  let changed = 0;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    changed++;
    if (fields[i] === 'D') deleted.push(fields[i + 1]!);
  }
  // No layer when git could not compare the commits (e.g. a task's git dir without the previous
  // one; a truncated output has no code either) or the change is the size of a checkout.
  if (diff.code !== 0 || changed > MAX_CHANGED) {
    await Promise.all([rm(tree, { recursive: true, force: true }), rm(scratch, { recursive: true, force: true })]);
    return null;
  }
  // (The caller removes what was written.)
  if (r.code !== 0) throw new Error(`building the base of ${commit} on ${previous} failed: ${firstLine(r.stderr)}`);
  await whiteout(opts.host.runner, await vanished(deleted, opts), tree, uid);
  return [commit, ...below];
}

/** For each deleted file, the topmost of it and its directories that the new commit no longer has. */
async function vanished(deleted: string[], opts: BaseOptions): Promise<string[]> {
  if (deleted.length === 0) return [];
  const env = alternates(opts);
  const listing = await runGit(['ls-tree', '-r', '-d', '-z', '--name-only', opts.commit], { host: opts.host, gitDir: opts.gitDir, env, maxOutputBytes: 64 << 20 });
  if (listing.code !== 0) throw new Error(`listing the directories of ${opts.commit} failed: ${firstLine(listing.stderr)}`);
  const dirs = new Set(listing.stdout.toString('utf8').split('\0').filter(Boolean));
  const out = new Set<string>();
  for (const path of deleted) {
    let top = path;
    while (dirname(top) !== '.' && !dirs.has(dirname(top))) top = dirname(top);
    out.add(top);
  }
  return [...out];
}

/** Overlay whiteouts (0/0 character devices) for `paths` in the layer at `tree`. */
async function whiteout(runner: ProcessRunner, paths: string[], tree: string, uid: number): Promise<void> {
  const targets: string[] = [];
  for (const path of paths) {
    const target = join(tree, path);
    // Something new of that name in this layer (a directory where a file was) already hides it.
    if (await stat(target).then(() => true, () => false)) continue;
    await mkdirOwned(tree, dirname(path), uid);
    targets.push(target);
  }
  if (targets.length === 0) return;
  const r = await run(runner, 'sh', ['-c', 'for p do mknod "$p" c 0 0 || exit 1; done', 'sh', ...targets]);
  if (r.code !== 0) throw new Error(`making overlay whiteouts failed: ${firstLine(r.stderr)}`);
}

/** Where git finds the commit's objects besides the git dir (BaseOptions.copying). */
function alternates(opts: BaseOptions): Record<string, string> {
  return opts.copying ? { GIT_ALTERNATE_OBJECT_DIRECTORIES: opts.copying.objects } : {};
}

/** Hands `dir` and everything in it to the sandbox user (lchown: links are not followed). */
async function chownTree(dir: string, uid: number): Promise<void> {
  await lchown(dir, uid, uid);
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(entries.map((e) => (e.isDirectory() ? chownTree(join(dir, e.name), uid) : lchown(join(dir, e.name), uid, uid))));
}

/** mkdir -p of `rel` under `root`, each new directory owned by the sandbox user (as git makes them). */
async function mkdirOwned(root: string, rel: string, uid: number): Promise<void> {
  if (rel === '.' || rel === '') return;
  await mkdirOwned(root, dirname(rel), uid);
  const dir = join(root, rel);
  const made = await mkdir(dir).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? false : Promise.reject(err)));
  if (made && process.getuid?.() === 0) await chown(dir, uid, uid);
}

/**
 * Removes a commit's base unless `inUse` says a task still mounts it or another base stacks on
 * it; then the bases it stacked on, if nothing needs them any more.
 */
export async function removeBase(dataDir: string, commit: string, inUse: (commit: string) => Promise<boolean>): Promise<void> {
  const layers = await readLayers(dataDir, commit);
  if (await inUse(commit)) return;
  for (const name of await readdir(basesDir(dataDir)).catch(() => [] as string[])) {
    if (!name.endsWith('.layers') || name === `${commit}.layers`) continue;
    const text = await readFile(join(basesDir(dataDir), name), 'utf8').catch(() => '');
    if (text.split('\n').includes(commit)) return;
  }
  const dir = layerDir(dataDir, commit);
  await rm(`${dir}.index`, { force: true });
  await rm(`${dir}.layers`, { force: true });
  await rm(dir, { recursive: true, force: true });
  for (const below of (layers ?? []).slice(1)) await removeBase(dataDir, below, inUse);
}
