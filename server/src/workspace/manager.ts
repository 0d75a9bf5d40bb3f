// Prepares and reopens task workspaces:
//   DATA/repos/<name>.git      bare mirror per repository (packs only)
//   DATA/bases/<commit>        base tree per commit, owned by the sandbox uid, shared read-only
//   DATA/tasks/<key>/git       trusted git dir (objects hardlinked from the mirror, index, refs)
//   DATA/tasks/<key>/view      the view: overlay over the base, or a plain checkout
//   DATA/tasks/<key>/scratch   per-task tmpfs (size = disk cap) with the overlay's upper/work dirs
//   DATA/tasks/<key>/state.json  what open() needs after a restart
// A set-up layer (SetupLayerSource: the environment's setup, cached) may sit between the base and
// the view; the task's base commit is then the set-up tree, so setup's changes are not in its diff.
import { copyFile, link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RepoSpec } from '../../../protocol';
import type { Host } from './git';
import { KeyedLock } from './keyedLock';
import { releaseLeftovers } from './leftovers';
import { validateKey } from './parse';
import { readRepoFacts } from './repoFiles';
import type { RepoWatches } from './repoWatch';
import { applyUncommitted, PlainScanner, type UncommittedScanner } from './scanner';
import { WatchedScanner } from './watchedScanner';
import { resolveSource, sourceIdentity, storeBundle, type ResolvedSource, type SourceContext } from './sources';
import { createTaskGitDir, isSafeBranch, TaskGit, TreeIds, writeRef } from './taskGit';
import type { PrepareOptions, SetupLayer, SetupLayerSource, Workspace, WorkspaceManager } from './types';
import { HeadWatch } from './ahead';
import { readyDataDir } from './dataDir';
import { baseNames, commitOf, ensureBase, FLATTEN_AT, hasBase, layerDirs, readLatest, removeBase, type Base } from './bases';
import { Upkeep } from './upkeep';
import { checkoutTree, isOverlayMounted, mountOverlay, switchView, unmountView, viewPaths } from './view';
import { readState, snapshotRef, TaskWorkspace, writeState, type WorkspaceState } from './workspace';
import { NO_LOG, type Logger } from '../log';

export interface WorkspaceManagerOptions {
  dataDir: string;
  sandboxUid: number;
  /** How git, mount and umount start (the server's ProcessRunner) and what they see of its environment (Config.hostEnv). */
  host: Host;
  log?: Logger;
  /**
   * A cache in front of the scan for uncommitted changes (watchedScanner.ts); without it every
   * task scans the user's tree with git.
   */
  watches?: RepoWatches;
  /**
   * false: a deep stack of base layers is not flattened in the background (bases.ts flattenBase);
   * a new commit on a full stack then waits for a whole checkout. On by default.
   */
  flattenBases?: boolean;
  /** true: a local repository's new commits are prepared before their first task (ahead.ts). */
  prepareAhead?: boolean;
  /** Set-up layers to put under views (environments/); without it views stack the base alone. */
  setupLayers?: SetupLayerSource;
  /** Uploaded bundles this node's disk lacks, from the store (a fleet; see sources.ts ensureBundleFile). */
  fetchBundle?: (bundleId: string) => Promise<Buffer | undefined>;
}

export const DEFAULT_DISK_BYTES = 1024 ** 3;

export interface OpenOptions {
  /** false: do not mount a view that is not there; the workspace answers from its last snapshot. */
  view?: boolean;
}

export class LocalWorkspaceManager implements WorkspaceManager {
  private readonly locks = new KeyedLock();
  /** Bases a prepare or open is mounting right now (not yet visible in any state.json). */
  private readonly basesInUse = new Map<string, number>();
  private readonly log: Logger;
  private readonly host: Host;
  private readonly scanner: UncommittedScanner;
  /** The trees of the commits tasks start from: a new task's first record need not ask git (taskGit.ts). */
  private readonly trees = new TreeIds();
  /** Repacks, flattened bases and new commits prepared ahead (of the repositories in `heads`), beside the tasks. */
  private readonly upkeep: Upkeep;
  private readonly heads: HeadWatch | undefined;

  constructor(private readonly options: WorkspaceManagerOptions) {
    this.log = options.log ?? NO_LOG;
    this.host = options.host;
    const plain = new PlainScanner();
    this.scanner = options.watches ? new WatchedScanner(options.watches, plain) : plain;
    this.upkeep = new Upkeep({ host: this.host, dataDir: options.dataDir, sandboxUid: options.sandboxUid, log: this.log, underBasesLock: (fn) => this.locks.run('bases', fn), flatten: options.flattenBases !== false });
    const onCommit = (top: string) => this.upkeep.ahead(top, (signal) => this.prepareAhead(top, signal));
    this.heads = options.prepareAhead ? new HeadWatch({ onCommit, log: this.log }) : undefined;
  }

  /** Resolves once the work started beside the tasks (repacks, flattened bases, commits prepared ahead) is done. */
  idle(): Promise<void> {
    return this.upkeep.idle();
  }

  /** Kills that work where it is (the server stops) and waits for it to end. */
  stop(): Promise<void> {
    this.heads?.close();
    return this.upkeep.stop();
  }

  private taskDir(key: string): string {
    return join(this.options.dataDir, 'tasks', key);
  }

  private ready: Promise<void> | undefined;

  /** DATA's own directories and its traversability: checked once (retried after a failure). */
  private dataDirReady(): Promise<void> {
    this.ready ??= readyDataDir(this.options.dataDir, this.options.sandboxUid);
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  importBundle(data: Buffer): Promise<string> {
    return storeBundle(this.options.dataDir, data, this.host.runner);
  }

  async prepare(options: PrepareOptions): Promise<Workspace> {
    validateKey(options.key);
    const taskDir = this.taskDir(options.key);
    return this.locks.run(`task:${options.key}`, async () => {
      if (await readState(taskDir)) throw new Error(`workspace ${options.key} already exists; open it instead`);
      await this.removeTaskDir(taskDir); // what a prepare that died half-way left behind
      await this.dataDirReady();
      const started = Date.now();
      const phases: Record<string, number> = {};
      const source = await this.resolve(options.repo, { host: this.host, dataDir: this.options.dataDir, signal: options.signal, onLog: options.onLog, fetchToken: options.fetchToken, scanner: this.scanner, fetchBundle: this.options.fetchBundle });
      const commit = source.repo.commit;
      phases.source = Date.now() - started;
      if (options.repo.kind === 'local') void this.heads?.use(options.repo.path); // its next commits are prepared ahead
      void Promise.resolve(source.copying?.done).then(() => this.upkeep.tidy(source.repo.mirrorDir), () => undefined);
      this.useBase(commit, +1);
      try {
        return await this.build(taskDir, options, source, phases);
      } catch (err) {
        await this.removeTaskDir(taskDir);
        throw err;
      } finally {
        this.useBase(commit, -1);
        this.log.info('workspace prepared', { key: options.key, ms: Date.now() - started, phases });
      }
    });
  }

  /**
   * The task's source, under its repository's lock, which is held on until a commit being copied
   * into the mirror is there: a second task on the same commit finds it pinned, not half-copied.
   */
  private resolve(repo: RepoSpec, ctx: SourceContext): Promise<ResolvedSource> {
    return new Promise((resolve, reject) => {
      this.locks
        .run(`source:${sourceIdentity(repo)}`, async () => {
          const source = await resolveSource(repo, ctx);
          resolve(source);
          await source.copying?.done.catch(() => undefined);
        })
        .catch(reject);
    });
  }

  /** `phases`: where the time went (ms), for the log. */
  private async build(taskDir: string, options: PrepareOptions, source: ResolvedSource, phases: Record<string, number>): Promise<Workspace> {
    const { repo } = source;
    const uid = this.options.sandboxUid;
    const gitDir = join(taskDir, 'git');
    const paths = viewPaths(taskDir);
    const diskBytes = options.diskBytes ?? DEFAULT_DISK_BYTES;
    await mkdir(taskDir, { recursive: true });
    const indexFile = join(gitDir, 'delegate-index');
    let mode: 'overlay' | 'checkout' = 'checkout';
    // The task's git dir and its view do not depend on each other: made at the same time. Both
    // settle before anything is thrown, so a clean-up never races a mount still under way.
    const phasesStart = Date.now();
    const [made, mounted] = await Promise.allSettled([
      (async () => {
        await source.copying?.done;
        await createTaskGitDir(this.host, gitDir, repo.mirrorDir, repo.commit);
      })(),
      (async () => {
        if (options.mode === 'checkout') return null;
        if (process.getuid?.() !== 0) return options.mode === 'overlay' ? { failure: 'not running as root' } : null;
        const t = Date.now();
        const base = await this.baseFor(source);
        phases.base = Date.now() - t;
        const layer = (await this.options.setupLayers?.layerFor({ key: options.key, commit: repo.commit, baseLayers: base.layers, baseIndex: base.index, mirrorDir: repo.mirrorDir, mirrored: source.copying?.done, signal: options.signal })) ?? null;
        phases.setup = Date.now() - t - phases.base;
        const failure = await mountOverlay({ runner: this.host.runner, paths, layers: layer ? [layer.dir, ...base.layers] : base.layers, diskBytes, uid });
        phases.mount = Date.now() - t - phases.base - phases.setup;
        return { base, layer, failure };
      })(),
    ]);
    phases.view = Date.now() - phasesStart;
    if (made.status === 'rejected') throw made.reason;
    if (mounted.status === 'rejected') throw mounted.reason;
    const overlay = mounted.value;
    if (overlay?.failure === null && overlay.base) {
      await copyFile(overlay.layer?.index ?? overlay.base.index, indexFile);
      mode = 'overlay';
    } else if (overlay && options.mode === 'overlay') {
      throw new Error(`overlay view unavailable: ${overlay.failure}`);
    } else if (overlay) {
      this.log.warn('overlay view unavailable; using a checkout', { key: options.key, reason: overlay.failure });
    }
    if (mode === 'checkout') await this.checkout(gitDir, repo.commit, paths.dir, indexFile, taskDir);
    const layer = mode === 'overlay' ? (overlay?.layer ?? null) : null;
    const start = layer ? await this.setupStart(gitDir, paths.dir, layer, repo.commit, options.key) : repo.commit;
    options.onView?.({ dir: paths.dir, gitDir });
    let baseRef = start;
    const patch = await source.patch;
    if (patch) {
      options.onLog?.('Applying uncommitted changes');
      // On a set-up layer they apply to what the setup left, which may have changed the same files.
      const onto = layer ? `${repo.commit.slice(0, 12)} as the environment's setup left it (it changed the same files; commit them, or set them aside)` : repo.commit.slice(0, 12);
      await applyUncommitted({ host: this.host, gitDir, indexFile, dir: paths.dir, uid, patch, patchFile: join(taskDir, 'uncommitted.patch'), onto });
      const provisional = new TaskGit(this.host, gitDir, paths.dir, repo.commit, snapshotRef(options.key));
      baseRef = await provisional.commitTree(await provisional.writeTree(), start, 'Uncommitted changes (applied by Delegate)');
    }
    const branch = repo.branch && isSafeBranch(repo.branch) ? repo.branch : 'delegate';
    await Promise.all([
      writeRef(gitDir, 'refs/delegate/base', baseRef),
      writeRef(gitDir, `refs/heads/${branch}`, baseRef),
      writeFile(join(gitDir, 'HEAD'), `ref: refs/heads/${branch}\n`),
      // The index the sandbox's git sees: the base with stat data, so `git status` inside is cheap.
      copyFile(indexFile, join(gitDir, 'index')),
    ]);
    const state: WorkspaceState = {
      version: 1,
      key: options.key,
      repo,
      baseRef,
      mode,
      ...(mode === 'overlay' && overlay?.base ? { baseLayers: overlay.base.commits } : {}),
      ...(layer ? { setupLayer: { id: layer.id, start } } : {}),
      diskBytes,
      createdAt: new Date().toISOString(),
      closed: false,
    };
    await writeState(taskDir, state);
    return this.instance(taskDir, state, { fresh: !patch });
  }

  /** The base of the source's commit, built unless there (and flattened later when deep). */
  private async baseFor({ repo, copying }: ResolvedSource): Promise<Base> {
    const { dataDir, sandboxUid: uid } = this.options;
    const base = await this.locks.run('bases', () => ensureBase({ host: this.host, dataDir, gitDir: repo.mirrorDir, mirrorDir: repo.mirrorDir, commit: repo.commit, uid, copying }));
    if (base.commits.length >= FLATTEN_AT) this.upkeep.flatten(repo.mirrorDir, repo.commit, copying?.done);
    return base;
  }

  /**
   * What the first task on the new HEAD at `top` would do before its view (ahead.ts): the commit
   * copied, the tree scanned (if the repository watch keeps that), the base built; the last base
   * before it goes unless needed. False: a task on that commit prepares it, or did.
   */
  private async prepareAhead(top: string, signal: AbortSignal): Promise<boolean> {
    const head = (await readRepoFacts(top))?.head;
    if (!head || this.basesInUse.has(head) || (await hasBase(this.options.dataDir, head))) return false;
    await this.dataDirReady();
    const spec = { kind: 'local', path: top, includeUncommitted: this.options.watches !== undefined } as const;
    const source = await this.resolve(spec, { host: this.host, dataDir: this.options.dataDir, signal, scanner: this.scanner });
    const { commit, mirrorDir } = source.repo;
    this.useBase(commit, +1);
    try {
      const previous = await readLatest(mirrorDir);
      // Overlay views (and so bases) need root; without, a task checks out its own tree.
      if (process.getuid?.() === 0) await this.baseFor(source);
      await Promise.all([source.copying?.done, source.patch]);
      if (previous && commitOf(previous) !== commit) await this.dropBaseIfUnused(commitOf(previous));
      return true;
    } finally {
      this.useBase(commit, -1);
    }
  }

  /**
   * The commit the view starts from over a set-up layer: its objects joined to the task's git dir
   * (hardlinks), and a commit of the set-up tree on the user's commit when setup changed what git
   * sees (the task's diff is taken against it: setup's changes are not the agent's work).
   */
  private async setupStart(gitDir: string, dir: string, layer: SetupLayer, commit: string, key: string): Promise<string> {
    if (layer.packs.length === 0) return commit;
    await Promise.all(layer.packs.map((file) => {
      const to = join(gitDir, 'objects', 'pack', file.slice(file.lastIndexOf('/') + 1));
      return link(file, to).catch(() => copyFile(file, to));
    }));
    return layer.commits?.[commit] ?? new TaskGit(this.host, gitDir, dir, commit, snapshotRef(key)).commitTree(layer.tree, commit, 'Environment set up by Delegate');
  }

  private async checkout(gitDir: string, tree: string, dir: string, indexFile: string, taskDir: string): Promise<void> {
    const scratchDir = join(taskDir, 'checkout-tmp');
    try {
      const index = await checkoutTree({ host: this.host, gitDir, tree, dest: dir, scratchDir, uid: this.options.sandboxUid });
      await rename(index, indexFile);
    } finally {
      await rm(scratchDir, { recursive: true, force: true });
    }
  }

  async open(key: string, options: OpenOptions = {}): Promise<Workspace | null> {
    validateKey(key);
    const taskDir = this.taskDir(key);
    return this.locks.run(`task:${key}`, async () => {
      let state = await readState(taskDir);
      if (!state) return null;
      const paths = viewPaths(taskDir);
      const gitDir = join(taskDir, 'git');
      const indexFile = join(gitDir, 'delegate-index');
      const live = state.mode === 'overlay' ? await isOverlayMounted(paths) : await exists(paths.dir);
      // Answers from the last snapshot need no view: nothing is mounted for them.
      if (!live && options.view === false) return this.instance(taskDir, { ...state, closed: true });
      if (!live) {
        const taskGit = new TaskGit(this.host, gitDir, paths.dir, state.baseRef, snapshotRef(key));
        const target = (await taskGit.lastSnapshot()) ?? state.baseRef;
        this.log.info('rebuilding workspace view', { key, mode: state.mode, from: target });
        state = { ...state, ...(await this.rebuild(state, taskDir, gitDir, indexFile, target)) };
      }
      state = { ...state, closed: false };
      await writeState(taskDir, state);
      return this.instance(taskDir, state);
    });
  }

  /** A fresh view at `target` (the last snapshot): the base again, then git brings it forward. */
  private async rebuild(state: WorkspaceState, taskDir: string, gitDir: string, indexFile: string, target: string): Promise<Pick<WorkspaceState, 'mode' | 'baseLayers' | 'setupLayer'>> {
    const paths = viewPaths(taskDir);
    const uid = this.options.sandboxUid;
    const commit = state.repo.commit;
    await unmountView(this.host.runner, paths);
    if (state.mode === 'overlay') {
      this.useBase(commit, +1);
      try {
        // The task's own git dir has every object the base needs, even if the mirror is gone.
        const base = await this.locks.run('bases', () => ensureBase({ host: this.host, dataDir: this.options.dataDir, gitDir, mirrorDir: state.repo.mirrorDir, commit, uid }));
        // The set-up layer it had (kept while a task records it); without it, the base alone.
        const layer = state.setupLayer ? ((await this.options.setupLayers?.find(state.setupLayer.id)) ?? null) : null;
        if (state.setupLayer && !layer) this.log.warn('the set-up layer of this workspace is gone; its view is rebuilt without it', { key: state.key, layer: state.setupLayer.id });
        const failure = await mountOverlay({ runner: this.host.runner, paths, layers: layer ? [layer.dir, ...base.layers] : base.layers, diskBytes: state.diskBytes, uid });
        if (failure === null) {
          await copyFile(layer?.index ?? base.index, indexFile);
          const from = layer && state.setupLayer ? state.setupLayer.start : commit;
          await switchView({ host: this.host, gitDir, dir: paths.dir, index: indexFile, from, to: target, scratchDir: join(taskDir, 'switch-tmp'), uid });
          await rm(join(taskDir, 'switch-tmp'), { recursive: true, force: true });
          return { mode: 'overlay', baseLayers: base.commits, setupLayer: layer ? state.setupLayer : undefined };
        }
        this.log.warn('overlay view unavailable on reopen; using a checkout', { key: state.key, reason: failure });
      } finally {
        this.useBase(commit, -1);
      }
    }
    await rm(paths.dir, { recursive: true, force: true });
    await this.checkout(gitDir, target, paths.dir, indexFile, taskDir);
    return { mode: 'checkout', baseLayers: undefined, setupLayer: undefined };
  }

  async releaseLeftovers(): Promise<void> {
    const released = await releaseLeftovers({ dataDir: this.options.dataDir, runner: this.host.runner, instance: (dir, state) => this.instance(dir, state), log: this.log });
    if (released.recorded + released.removed + released.unmounted > 0) this.log.info('released workspaces left by a stopped server', released);
  }

  private instance(taskDir: string, state: WorkspaceState, options: { fresh?: boolean } = {}): Workspace {
    return new TaskWorkspace({
      ...options,
      host: this.host,
      taskDir,
      state,
      uid: this.options.sandboxUid,
      baseLayers: state.mode === 'overlay' ? [...this.setupLayerDirs(state), ...layerDirs(this.options.dataDir, state.baseLayers ?? [state.repo.commit])] : undefined,
      onDestroyed: (s) => this.dropBaseIfUnused(s.repo.commit),
      trees: this.trees,
    });
  }

  private setupLayerDirs(state: WorkspaceState): string[] {
    return state.setupLayer && this.options.setupLayers ? [this.options.setupLayers.dirOf(state.setupLayer.id)] : [];
  }

  private useBase(commit: string, delta: number): void {
    const n = (this.basesInUse.get(commit) ?? 0) + delta;
    if (n > 0) this.basesInUse.set(commit, n);
    else this.basesInUse.delete(commit);
  }

  /** Removes a commit's bases once no task uses them (bases are otherwise kept for reuse). */
  private async dropBaseIfUnused(commit: string): Promise<void> {
    await this.locks.run('bases', async () => {
      const tasks = join(this.options.dataDir, 'tasks');
      const states = await Promise.all((await readdir(tasks).catch(() => [] as string[])).map((key) => readState(join(tasks, key))));
      const used = new Set(states.flatMap((s) => (s?.mode === 'overlay' ? (s.baseLayers ?? [s.repo.commit]) : [])));
      // A prepare under way holds its commit (basesInUse): whichever of the commit's bases it mounts.
      const inUse = async (name: string) => this.basesInUse.has(commitOf(name)) || used.has(name);
      for (const name of baseNames(commit)) await removeBase(this.options.dataDir, name, inUse);
    });
  }

  private async removeTaskDir(taskDir: string): Promise<void> {
    if (!(await exists(taskDir))) return;
    await unmountView(this.host.runner, viewPaths(taskDir));
    await rm(taskDir, { recursive: true, force: true });
  }
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
