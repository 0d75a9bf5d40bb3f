// The trusted per-task git dir: outside the agent's reach, mounted read-only at /workspace/.git.
// It holds the task's base commit, a persistent index that `git add -A` refreshes cheaply after
// every agent command, and the snapshot ref.
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChangedFile } from '../../../protocol';
import { addPaths, git, gitMaybe, runGit, firstLine, NEUTRAL_ATTRIBUTES, type GitRun, type Host } from './git';
import { parseChanges, pathspec } from './parse';

const CONFIG = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = false
\tsymlinks = true
# The sandbox user sees other uids and cannot refresh the read-only index: compare less stat data.
\tcheckStat = minimal
[gc]
\tauto = 0
`;

/**
 * Creates the git dir by hand (cheaper than `git init` + config calls) and hardlinks the mirror's
 * packs so it is self-contained: inside the sandbox only this dir is visible, so alternates
 * pointing at the mirror would not resolve there.
 */
export async function createTaskGitDir(host: Host, gitDir: string, mirrorDir: string, commit: string): Promise<void> {
  // Side by side: each is a trip through libuv's thread pool, on the way to a task's first command.
  const packDir = join(mirrorDir, 'objects', 'pack');
  const [packs] = await Promise.all([
    readdir(packDir).catch(() => [] as string[]),
    ...['objects/pack', 'objects/info', 'refs/heads', 'refs/tags', 'info'].map((d) => mkdir(join(gitDir, d), { recursive: true })),
  ]);
  await Promise.all([
    writeFile(join(gitDir, 'HEAD'), 'ref: refs/heads/delegate\n'),
    writeFile(join(gitDir, 'config'), CONFIG),
    writeFile(join(gitDir, 'info', 'attributes'), NEUTRAL_ATTRIBUTES),
    writeFile(join(gitDir, 'description'), 'Delegate task workspace\n'),
    linkPacks(packDir, join(gitDir, 'objects', 'pack'), packs),
  ]);
  // Mirrors keep packs only; loose objects mean someone else wrote there: then check, and fetch.
  const loose = (await readdir(join(mirrorDir, 'objects')).catch(() => [] as string[])).some((d) => /^[0-9a-f]{2}$/.test(d));
  if (loose && (await runGit(['cat-file', '-e', `${commit}^{commit}`], { host, gitDir })).code !== 0) {
    // Loose objects in the mirror (written by someone else): fetch what the commit needs.
    const r = await runGit(['fetch', '-q', '--no-tags', '--no-write-fetch-head', mirrorDir, `${commit}:refs/delegate/source`], { host, gitDir, protocols: ['file'] });
    if (r.code !== 0) throw new Error(`could not copy ${commit} into the task: ${firstLine(r.stderr)}`);
  }
}

/**
 * Hardlinks (copies, across filesystems) the pack files `names` of `from` into `to`. A pack that
 * went while they were linked was rolled into a new one (mirrorTidy.ts): the directory is listed
 * again and what is new linked too.
 */
async function linkPacks(from: string, to: string, names: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const results = await Promise.allSettled(
      names
        .filter((name) => /\.(pack|idx|rev)$/.test(name))
        .map((name) => link(join(from, name), join(to, name)).catch((err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? undefined : copyFile(join(from, name), join(to, name))))),
    );
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    if (failed.length === 0) return;
    if (attempt === 3 || failed.some((err) => err.code !== 'ENOENT')) throw failed[0]!;
    names = await readdir(from);
  }
}

/**
 * Writes a loose ref by hand, atomically (write + rename): saves a process per ref. Only the server
 * writes refs in a task's git dir (the sandbox mounts it read-only) and nothing packs them.
 */
export async function writeRef(gitDir: string, ref: string, value: string): Promise<void> {
  const file = join(gitDir, ref);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${value}\n`);
  await rename(tmp, file);
}

/**
 * writeRef() when the ref still holds `expected` (null: absent): a compare-and-swap instead of a
 * `git update-ref` process per snapshot, safe under the workspace's index lock.
 */
export async function moveRef(gitDir: string, ref: string, value: string, expected: string | null): Promise<void> {
  const current = (await readFile(join(gitDir, ref), 'utf8').catch(() => '')).trim() || null;
  if (current !== expected) throw new Error(`${ref} is ${current ?? 'absent'}, expected ${expected ?? 'absent'}`);
  await writeRef(gitDir, ref, value);
}

/** A conservative subset of git's branch name rules. */
export function isSafeBranch(name: string): boolean {
  return (
    /^[A-Za-z0-9._/-]{1,200}$/.test(name) &&
    !/(^|\/)\.|\.\.|\/\/|\.lock(\/|$)|^\/|\/$|\.$|^-/.test(name)
  );
}

/** Commit → tree for the commits tasks start from: a commit names one tree, so it never goes stale. */
export class TreeIds {
  private readonly map = new Map<string, string>();

  constructor(private readonly max = 256) {}

  get(commit: string): string | undefined {
    return this.map.get(commit);
  }

  set(commit: string, tree: string): void {
    this.map.delete(commit);
    this.map.set(commit, tree);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class TaskGit {
  readonly indexFile: string;

  constructor(
    private readonly host: Host,
    readonly gitDir: string,
    readonly workTree: string,
    readonly baseRef: string,
    readonly snapshotRef: string,
    private readonly trees?: TreeIds,
  ) {
    this.indexFile = join(gitDir, 'delegate-index');
  }

  /**
   * No snapshot exists yet (a workspace just prepared): when the base's tree is known, that is all
   * the snapshot state there is, and the first record asks git nothing for it.
   */
  startsFresh(): void {
    const baseTree = this.trees?.get(this.baseRef);
    if (baseTree) this.last ??= { commit: null, tree: baseTree, baseTree };
  }

  private run(extra: Partial<GitRun> = {}): GitRun {
    // cwd in the git dir: the view may be gone (closed, rebooted) when we only need objects.
    return { host: this.host, gitDir: this.gitDir, workTree: this.workTree, indexFile: this.indexFile, cwd: this.gitDir, ...extra };
  }

  /** What the last partial refresh looked at: paths that left the upper layer still need one more look. */
  private lastPaths: string[] = [];

  /**
   * Brings the persistent index up to date with the view: only changed files are hashed. With
   * `paths` (the overlay's changed paths), git looks at those alone instead of the whole tree.
   */
  async refresh(paths?: string[]): Promise<void> {
    if (paths) {
      // A file created and recorded, then deleted, leaves the upper layer: the index still has it.
      const all = [...new Set([...paths, ...this.lastPaths])];
      if (all.length === 0) return;
      const r = await addPaths(all, this.run({ cwd: this.workTree }));
      // 128: a path matches nothing (an ignored file that was deleted): the full scan below has
      // no such failure.
      if (r.code === 0 || r.code === 1) {
        this.lastPaths = paths;
        return;
      }
    }
    // --ignore-errors: an agent-made nested repository without commits must not block the rest.
    const r = await runGit(['add', '-A', '--ignore-errors', '--', '.'], this.run({ cwd: this.workTree }));
    if (r.code !== 0 && r.code !== 1) throw new Error(`git add failed: ${firstLine(r.stderr)}`);
    this.lastPaths = paths ?? [];
  }

  /** Files changed between two tree-ishes, or between `from` and the index. */
  async changes(from: string, to?: string): Promise<ChangedFile[]> {
    const args = ['diff', '-z', '-M', '--raw', '--numstat', '--no-ext-diff', '--no-textconv', '--no-color', '--no-relative'];
    const out = await git(to ? [...args, from, to, '--'] : [...args, '--cached', from, '--'], this.run());
    return parseChanges(out);
  }

  async diff(from: string, to: string | undefined, paths: string[] | undefined, binary: boolean): Promise<string> {
    if (paths?.length === 0) return '';
    return (await this.diffBytes(from, to, paths, binary)).toString('utf8');
  }

  /** The binary-safe patch from `from` to `to` (or the index), as git wrote it. */
  patch(from: string, to: string | undefined): Promise<Buffer> {
    return this.diffBytes(from, to, undefined, true);
  }

  private async diffBytes(from: string, to: string | undefined, paths: string[] | undefined, binary: boolean): Promise<Buffer> {
    const args = ['diff', '-M', '-U3', '--no-ext-diff', '--no-textconv', '--no-color', '--no-relative', '--src-prefix=a/', '--dst-prefix=b/'];
    if (binary) args.push('--binary');
    args.push(...(to ? [from, to] : ['--cached', from]), '--');
    if (paths) args.push(...paths.map(pathspec));
    const r = await runGit(args, this.run());
    if (r.code !== 0) throw new Error(`git diff failed: ${firstLine(r.stderr)}`);
    return r.stdout;
  }

  async writeTree(): Promise<string> {
    return git(['write-tree'], this.run());
  }

  async commitTree(tree: string, parent: string, message: string): Promise<string> {
    return git(['commit-tree', tree, '-p', parent, '-F', '-'], this.run({ input: message }));
  }

  async lastSnapshot(): Promise<string | null> {
    return (await gitMaybe(['rev-parse', '--verify', '-q', `${this.snapshotRef}^{commit}`], this.run())) || null;
  }

  /** The last snapshot (null: none yet) and its tree (the base's then), and the base's tree, remembered between calls. */
  private last: { commit: string | null; tree: string; baseTree: string } | null = null;

  /** Reads what snapshotTree() compares against, if not known yet (to run beside other work). */
  async loadSnapshotState(): Promise<void> {
    this.last ??= await this.askLast();
  }

  /**
   * Names the diff from the base to `tree` (as diff() makes it) without making it: the diff is a
   * function of the two trees, and any change of content changes the tree.
   */
  async diffVersion(tree: string): Promise<string> {
    this.last ??= await this.askLast();
    return diffVersionOf(this.last.baseTree, tree);
  }

  /** The tree of a commit. */
  treeOf(rev: string): Promise<string> {
    return git(['rev-parse', '--verify', `${rev}^{tree}`], this.run());
  }

  /** The snapshot ref's commit and tree (if any) and the base's tree, in one process. */
  private async askLast(): Promise<{ commit: string | null; tree: string; baseTree: string }> {
    const input = `${this.snapshotRef}^{commit}\n${this.snapshotRef}^{tree}\n${this.baseRef}^{tree}\n`;
    const out = await git(['cat-file', '--batch-check=%(objectname)'], this.run({ input }));
    const [commit, tree, baseTree] = out.split('\n').map((line) => (/^[0-9a-f]{40,64}$/.test(line) ? line : null));
    if (!baseTree) throw new Error(`base ${this.baseRef} has no tree in the task's git dir`);
    this.trees?.set(this.baseRef, baseTree);
    return commit && tree ? { commit, tree, baseTree } : { commit: null, tree: baseTree, baseTree };
  }

  /**
   * Commits the index on the snapshot ref (no new commit when nothing changed). The index is taken
   * as it is: refresh() first to include the view's latest changes.
   */
  async snapshot(message: string): Promise<string> {
    return this.snapshotTree(await this.writeTree(), message);
  }

  /** snapshot() for a tree already written from the index. */
  async snapshotTree(tree: string, message: string): Promise<string> {
    this.last ??= await this.askLast();
    const previous = this.last.commit;
    const parent = previous ?? this.baseRef;
    if (this.last.tree === tree) {
      if (!previous) {
        await this.moveSnapshotRef(parent, null);
        this.last = { ...this.last, commit: parent, tree };
      }
      return parent;
    }
    const commit = await this.commitTree(tree, parent, message);
    await this.moveSnapshotRef(commit, previous);
    this.last = { ...this.last, commit, tree };
    return commit;
  }

  /**
   * A commit of `tree` on the snapshot ref even when the tree is the last snapshot's: the commit
   * says what happened (going back to a checkpoint) and its parent keeps the later work reachable.
   */
  async commitOnSnapshot(tree: string, message: string): Promise<string> {
    this.last ??= await this.askLast();
    const previous = this.last.commit;
    const commit = await this.commitTree(tree, previous ?? this.baseRef, message);
    await this.moveSnapshotRef(commit, previous);
    this.last = { ...this.last, commit, tree };
    return commit;
  }

  /**
   * The snapshot whose diff has this version: one walk of the snapshot ref's history down to the
   * base (each tree named as diffVersion() names it). The empty diff is the base itself. Null when
   * no snapshot of this attempt has it (or this copy has no history: a fleet node that did not run it).
   */
  async findSnapshot(version: string): Promise<{ commit: string; tree: string } | null> {
    this.last ??= await this.askLast();
    const { baseTree } = this.last;
    if (diffVersionOf(baseTree, baseTree) === version) return { commit: this.baseRef, tree: baseTree };
    if (!this.last.commit) return null;
    const r = await runGit(['log', '--format=%H %T', this.snapshotRef, `^${this.baseRef}`, '--'], this.run());
    if (r.code !== 0) throw new Error(`git log of the snapshots failed: ${firstLine(r.stderr)}`);
    for (const line of r.stdout.toString('utf8').split('\n')) {
      const [commit, tree] = line.split(' ');
      if (commit && tree && diffVersionOf(baseTree, tree) === version) return { commit, tree };
    }
    return null;
  }

  /**
   * Applies a patch to the view's files (not the index), as `asUid` when given: the files the
   * agent finds must be its own, and git then writes nothing as root where the agent could have
   * placed a symlink (git apply also refuses paths beyond one).
   */
  async applyToView(patch: Buffer, asUid: number | undefined): Promise<void> {
    if (patch.length === 0) return;
    const r = await runGit(['apply', '--binary', '--whitespace=nowarn', '-'], { host: this.host, gitDir: this.gitDir, workTree: this.workTree, cwd: this.workTree, input: patch, asUid });
    if (r.code !== 0) throw new Error(`could not set the files back: ${firstLine(r.stderr)}`);
  }

  /** Compare-and-swap on the old value: if anyone else moved the ref, forget what we remembered. */
  private async moveSnapshotRef(commit: string, previous: string | null): Promise<void> {
    try {
      await moveRef(this.gitDir, this.snapshotRef, commit, previous);
    } catch (err) {
      this.last = null;
      throw new Error(`snapshot ref moved underneath: ${(err as Error).message}`);
    }
  }

  /** A file's blob at a commit; null when absent or not a file. Symlinks give their target. */
  async readBlob(rev: string, path: string): Promise<Buffer | null> {
    if (path.includes('\n')) return null;
    const r = await runGit(['cat-file', '--batch'], this.run({ input: `${rev}:${path}\n` }));
    if (r.code !== 0) return null;
    const nl = r.stdout.indexOf(10);
    const header = r.stdout.subarray(0, nl).toString('utf8').split(' ');
    if (header[1] !== 'blob') return null;
    const size = Number(header[2]);
    return r.stdout.subarray(nl + 1, nl + 1 + size);
  }
}

/**
 * A diff's version: the same base and tree, the same diff (fixed options), wherever it is computed;
 * a change of content is a new tree. 64 bits are plenty within one task.
 */
export function diffVersionOf(baseTree: string, tree: string): string {
  return createHash('sha256').update(`${baseTree} ${tree}`).digest('hex').slice(0, 16);
}
