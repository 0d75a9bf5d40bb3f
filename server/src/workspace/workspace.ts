// One task's workspace: the view, its trusted git dir, diffs against the base and snapshots.
import { rename, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ChangedFile } from '../../../protocol';
import { ConfinedFileAccess } from './confinedFiles';
import { KeyedLock } from './keyedLock';
import { overlayChangedPaths } from './overlayChanges';
import { splitRelativePath } from './parse';
import type { Host } from './git';
import { TaskGit, type TreeIds } from './taskGit';
import type { Checkpoint, ConfinedFiles, RecordHooks, ResolvedRepo, Workspace } from './types';
import { unmountView, viewPaths } from './view';

export const WorkspaceState = z.object({
  version: z.literal(1),
  key: z.string(),
  repo: z.object({
    name: z.string(),
    commit: z.string(),
    branch: z.string().optional(),
    remoteUrl: z.string().optional(),
    mirrorDir: z.string(),
  }),
  baseRef: z.string(),
  mode: z.enum(['overlay', 'checkout']),
  /** Overlay mode: the commits of the base's layers under the view, top first (bases.ts). */
  baseLayers: z.array(z.string()).optional(),
  /**
   * Overlay mode: the set-up layer between the base and the view (SetupLayer.id) and the commit the
   * view starts from with it (the set-up tree's, or repo.commit when setup changed nothing git sees).
   */
  setupLayer: z.object({ id: z.string(), start: z.string() }).optional(),
  diskBytes: z.number(),
  createdAt: z.string(),
  closed: z.boolean(),
});
export type WorkspaceState = z.infer<typeof WorkspaceState>;

/** Upper-layer entries to look at before a full scan of the view is the cheaper way. */
const OVERLAY_SCAN_LIMIT = 10_000;

/** Changes whenever a file is rewritten (git replaces the index with a rename: new inode). */
async function fileVersion(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return `${st.ino}:${st.mtimeNs}:${st.size}`;
}

export function stateFile(taskDir: string): string {
  return join(taskDir, 'state.json');
}

export async function readState(taskDir: string): Promise<WorkspaceState | null> {
  try {
    const parsed = WorkspaceState.safeParse(JSON.parse(await readFile(stateFile(taskDir), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export async function writeState(taskDir: string, state: WorkspaceState): Promise<void> {
  const tmp = `${stateFile(taskDir)}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, stateFile(taskDir));
}

/** A file path of the work as git names it; null for the root and the git dir, which are no file of it. */
function readablePath(path: string): string | null {
  const clean = splitRelativePath(path).join('/');
  return clean === '' || clean === '.git' || clean.startsWith('.git/') ? null : clean;
}

export function snapshotRef(key: string): string {
  return `refs/delegate/${key}`;
}

export interface TaskWorkspaceDeps {
  host: Host;
  taskDir: string;
  state: WorkspaceState;
  uid: number;
  /** The overlay's lower layers (the shared base), top first, in overlay mode. */
  baseLayers?: string[];
  /** Called after destroy() removed the task (the manager may drop the shared base). */
  onDestroyed: (state: WorkspaceState) => Promise<void>;
  /** Just prepared: its view is the base and it has no snapshot yet. */
  fresh?: boolean;
  /** The trees of base commits, shared by the manager's workspaces. */
  trees?: TreeIds;
}

export class TaskWorkspace implements Workspace {
  readonly files: ConfinedFiles & ConfinedFileAccess;
  private readonly git: TaskGit;
  private readonly lock = new KeyedLock();
  private state: WorkspaceState;
  private destroyed = false;
  /**
   * The view has been the base all along (prepared here, nothing written yet): a record then has
   * nothing to refresh, diff or snapshot. Most first turns only read (ls, cat, grep).
   */
  private pristine: boolean;

  constructor(private readonly deps: TaskWorkspaceDeps) {
    this.state = deps.state;
    this.pristine = deps.fresh === true;
    this.git = new TaskGit(deps.host, this.gitDir, this.dir, deps.state.baseRef, snapshotRef(deps.state.key), deps.trees);
    if (deps.fresh) this.git.startsFresh();
    this.files = new ConfinedFileAccess({
      host: deps.host,
      root: this.dir,
      uid: deps.uid,
      gitDir: this.gitDir,
      indexFile: this.git.indexFile,
      checkOpen: () => this.checkOpen(),
      refreshIndex: deps.state.mode === 'overlay' && deps.baseLayers ? () => this.exclusive(() => this.refresh()) : undefined,
    });
  }

  get key(): string {
    return this.state.key;
  }
  get dir(): string {
    return viewPaths(this.deps.taskDir).dir;
  }
  get gitDir(): string {
    return join(this.deps.taskDir, 'git');
  }
  get repo(): ResolvedRepo {
    return this.state.repo;
  }
  get baseRef(): string {
    return this.state.baseRef;
  }
  get mode(): 'overlay' | 'checkout' {
    return this.state.mode;
  }
  get setupLayer(): string | undefined {
    return this.state.setupLayer?.id;
  }
  get live(): boolean {
    return !this.destroyed && !this.state.closed;
  }

  private checkOpen(): void {
    if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
    if (this.state.closed) throw new Error(`workspace ${this.key} is closed; open it again to use its files`);
  }

  /** Index work is serialized: concurrent `git add` runs would collide on index.lock. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run('index', fn);
  }

  /** The commit holding the current work when the view is not live (closed). */
  private async closedHead(): Promise<string> {
    return (await this.git.lastSnapshot()) ?? this.baseRef;
  }

  /**
   * Brings the index up to date with the view. In overlay mode git looks only at what the
   * overlay's upper layer holds (the rest is the untouched base), not at every file of the view.
   */
  private async refresh(): Promise<void> {
    const { baseLayers } = this.deps;
    if (this.state.mode !== 'overlay' || !baseLayers) {
      this.pristine = false;
      return this.git.refresh();
    }
    const scratch = viewPaths(this.deps.taskDir).scratch;
    const changes = await overlayChangedPaths({ upper: join(scratch, 'upper'), lower: baseLayers, view: this.dir }, OVERLAY_SCAN_LIMIT);
    // An empty upper layer: the view still shows the base. Once written, it counts as changed.
    this.pristine &&= changes !== null && changes.paths.length === 0;
    // Nothing moved in the upper layer since the index was last brought up to date: no git at
    // all (most commands: builds, tests and reads that write nothing, or only to ignored paths).
    if (changes && changes.signature === this.refreshedAt) return;
    this.refreshedAt = null;
    await this.git.refresh(changes?.paths);
    this.refreshedAt = changes?.signature ?? null;
  }

  /** The upper layer's signature when the index last matched the view. */
  private refreshedAt: string | null = null;

  changedFiles(): Promise<ChangedFile[]> {
    return this.exclusive(async () => {
      if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
      if (this.state.closed) return this.git.changes(this.baseRef, await this.closedHead());
      await this.refresh();
      return this.git.changes(this.baseRef);
    });
  }

  /** The last record() and the index it was made from (git leaves an unchanged index unwritten). */
  private lastRecord: { index: string; changedFiles: ChangedFile[]; snapshot: string; version: string } | null = null;
  /** The changed files and tree of the last record(), with or without a snapshot, and their index. */
  private lastChanges: { index: string; changedFiles: ChangedFile[]; tree: string } | null = null;

  record(message: string, hooks: RecordHooks = {}): Promise<{ changedFiles: ChangedFile[]; snapshot: string | null; version: string | null }> {
    return this.exclusive(async () => {
      if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
      if (this.state.closed) {
        // Closed: its current state is its last snapshot, recorded when it was closed.
        const snapshot = await this.closedHead();
        const [changedFiles, version] = await Promise.all([this.git.changes(this.baseRef, snapshot), this.git.treeOf(snapshot).then((tree) => this.git.diffVersion(tree))]);
        hooks.onChanges?.(changedFiles, version);
        return { changedFiles, snapshot, version };
      }
      await this.refresh();
      hooks.onRefreshed?.();
      if (this.pristine) {
        hooks.onChanges?.([], null);
        return { changedFiles: [], snapshot: null, version: null };
      }
      const index = await fileVersion(this.git.indexFile);
      if (this.lastRecord?.index === index) {
        const { changedFiles, snapshot, version } = this.lastRecord;
        hooks.onChanges?.(changedFiles, version);
        return { changedFiles, snapshot, version };
      }
      // These only read the index's entries (write-tree adds its tree cache): side by side. The
      // tree is written even when no snapshot is wanted: the record that takes the snapshot (the
      // run's end, behind a burst) then only commits it. The snapshot's tree also names the diff,
      // so no diff is made for its version. The changed files go out as soon as they are known;
      // with the version again once a snapshot keeps that tree.
      const known = this.lastChanges?.index === index ? this.lastChanges : null;
      const [changedFiles, tree] = await Promise.all([
        (known ? Promise.resolve(known.changedFiles) : this.git.changes(this.baseRef)).then((files) => (hooks.onChanges?.(files, null), files)),
        known?.tree ?? this.git.writeTree(),
        this.git.loadSnapshotState(),
      ]);
      // write-tree may have rewritten the index (its tree cache), with the same entries: nothing
      // else writes it while this holds the index lock.
      this.lastChanges = { index: known ? index : await fileVersion(this.git.indexFile), changedFiles, tree };
      if (hooks.skipSnapshot?.()) {
        this.lastRecord = null;
        return { changedFiles, snapshot: null, version: null };
      }
      const version = await this.git.diffVersion(tree);
      hooks.onChanges?.(changedFiles, version);
      const snapshot = await this.git.snapshotTree(tree, message);
      this.lastRecord = { index: await fileVersion(this.git.indexFile), changedFiles, snapshot, version };
      return { changedFiles, snapshot, version };
    });
  }

  diff(paths?: string[], options?: { binary?: boolean }): Promise<string> {
    const clean = paths?.map((p) => splitRelativePath(p).join('/'));
    return this.exclusive(async () => {
      if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
      const binary = options?.binary ?? true;
      if (this.state.closed) return this.git.diff(this.baseRef, await this.closedHead(), clean, binary);
      await this.refresh();
      return this.git.diff(this.baseRef, undefined, clean, binary);
    });
  }

  patch(): Promise<Buffer> {
    return this.exclusive(async () => {
      if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
      if (this.state.closed) return this.git.patch(this.baseRef, await this.closedHead());
      await this.refresh();
      return this.git.patch(this.baseRef, undefined);
    });
  }

  versionedDiff(): Promise<{ diff: string; version: string }> {
    return this.exclusive(async () => {
      if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
      if (this.state.closed) {
        const head = await this.closedHead();
        const [diff, tree] = await Promise.all([this.git.diff(this.baseRef, head, undefined, true), this.git.treeOf(head)]);
        return { diff, version: await this.git.diffVersion(tree) };
      }
      await this.refresh();
      // Both read the index as refresh() left it (write-tree only adds its tree cache).
      const [diff, tree] = await Promise.all([this.git.diff(this.baseRef, undefined, undefined, true), this.git.writeTree()]);
      return { diff, version: await this.git.diffVersion(tree) };
    });
  }

  async readVersion(side: 'base' | 'head', path: string): Promise<Buffer | null> {
    const clean = readablePath(path);
    if (clean === null) return null;
    if (side === 'base') return this.git.readBlob(this.baseRef, clean);
    if (this.state.closed) return this.git.readBlob(await this.closedHead(), clean);
    this.checkOpen();
    try {
      return await this.files.readEntry(clean, true);
    } catch (err) {
      if (err instanceof Error && /is a directory|not a directory|does not exist/.test(err.message)) return null;
      throw err;
    }
  }

  async checkpoint(version: string): Promise<Checkpoint | null> {
    if (this.destroyed) throw new Error(`workspace ${this.key} was destroyed`);
    // Not under the index lock: snapshots are immutable objects, and a lookup need not wait for a record.
    const found = await this.git.findSnapshot(version);
    if (!found) return null;
    const { commit } = found;
    return {
      version,
      commit,
      diff: (paths) => this.git.diff(this.baseRef, commit, paths?.map((p) => splitRelativePath(p).join('/')), true),
      read: (path) => {
        const clean = readablePath(path);
        return clean === null ? Promise.resolve(null) : this.git.readBlob(commit, clean);
      },
    };
  }

  restoreCheckpoint(version: string): Promise<{ changedFiles: ChangedFile[]; snapshot: string } | null> {
    return this.exclusive(async () => {
      this.checkOpen();
      const target = await this.git.findSnapshot(version);
      if (!target) return null;
      // The current work is kept first: the commit that goes back sits on top of it.
      await this.refresh();
      const tree = await this.git.writeTree();
      await this.git.snapshotTree(tree, 'Work before going back to a checkpoint');
      if (tree !== target.tree) {
        // The files as the agent's own (it works on them next), then the index from them.
        await this.git.applyToView(await this.git.patch(tree, target.tree), process.getuid?.() === 0 ? this.deps.uid : undefined);
        await this.refresh();
        const now = await this.git.writeTree();
        if (now !== target.tree) throw new Error(`the files set back to checkpoint ${version} differ from it (tree ${now}, expected ${target.tree})`);
      }
      const snapshot = await this.git.commitOnSnapshot(target.tree, `Back to checkpoint ${version}`);
      this.lastRecord = null;
      this.lastChanges = null;
      return { changedFiles: await this.git.changes(this.baseRef, snapshot), snapshot };
    });
  }

  snapshot(message: string): Promise<string> {
    return this.exclusive(async () => {
      this.checkOpen();
      await this.refresh();
      return this.git.snapshot(message);
    });
  }

  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.destroyed || this.state.closed) return;
      try {
        await this.refresh();
        await this.git.snapshot('Workspace closed');
      } finally {
        // Unmounted even when the snapshot failed: a stopped server must leave no mount behind
        // (the work up to the previous snapshot stays in the task's git dir).
        if (this.state.mode === 'overlay') await unmountView(this.deps.host.runner, viewPaths(this.deps.taskDir));
        this.state = { ...this.state, closed: true };
        await writeState(this.deps.taskDir, this.state);
      }
    });
  }

  destroy(): Promise<void> {
    return this.exclusive(async () => {
      if (this.destroyed) return;
      this.destroyed = true;
      await unmountView(this.deps.host.runner, viewPaths(this.deps.taskDir));
      await rm(this.deps.taskDir, { recursive: true, force: true });
      await this.deps.onDestroyed(this.state);
    });
  }
}
