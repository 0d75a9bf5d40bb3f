// Per-task workspaces: a bare mirror per repository, a copy-on-write view per task at the user's
// commit plus their uncommitted changes, and git-computed diffs against that base.
import type { ChangedFile, RepoSpec } from '../../../protocol';

export interface PrepareOptions {
  /** Unique key for the workspace (task id, or `${taskId}-${attempt}` for best-of-N). */
  key: string;
  repo: RepoSpec;
  /** Token for fetching a {kind:'remote'} repository over https; memory only. */
  fetchToken?: string;
  signal?: AbortSignal;
  onLog?: (line: string) => void;
  /** Cap on what the task may write to its view (overlay mode: tmpfs size). Default 1 GiB. */
  diskBytes?: number;
  /** Force a view mode; default: overlay when mounting works, else checkout. */
  mode?: 'overlay' | 'checkout';
  /**
   * Called as soon as the view and the git dir exist, before the user's uncommitted changes are
   * applied and the refs written: a sandbox over them can start while that finishes.
   */
  onView?: (view: { dir: string; gitDir: string }) => void;
}

export interface ResolvedRepo {
  /** Display name (folder or repository name). */
  name: string;
  /** The user's commit the task starts from. */
  commit: string;
  branch?: string;
  remoteUrl?: string;
  /** The bare mirror in the data dir that holds the commits. */
  mirrorDir: string;
}

export interface ListOptions {
  /** Directory relative to the workspace root; default root. */
  dir?: string;
  /** Max entries; default 2000. */
  limit?: number;
  /** Recurse; default true. Respects .gitignore. */
  recursive?: boolean;
}

export interface SearchOptions {
  /** Extended regex (git grep -E); `fixed` for a literal. */
  fixed?: boolean;
  ignoreCase?: boolean;
  /** Limit to paths under this directory / matching this glob. */
  path?: string;
  maxResults?: number;
}

export interface SearchMatch {
  path: string;
  line: number;
  text: string;
}

/**
 * File access for the agent's tools. Every path is relative to the workspace root and confined to
 * it: `..`, absolute paths and symlinks that lead outside are refused with a clear error (thrown as
 * WorkspacePathError, which tools report to the model).
 */
export interface ConfinedFiles {
  readFile(path: string): Promise<Buffer>;
  /** Creates parent directories; files are owned by the sandbox uid. */
  writeFile(path: string, data: string | Buffer): Promise<void>;
  deleteFile(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  list(options?: ListOptions): Promise<{ entries: string[]; truncated: boolean }>;
  search(pattern: string, options?: SearchOptions): Promise<{ matches: SearchMatch[]; truncated: boolean }>;
}

export class WorkspacePathError extends Error {
  override readonly name = 'WorkspacePathError';
}

export interface Workspace {
  readonly key: string;
  /** Host directory mounted at /workspace in the sandbox. */
  readonly dir: string;
  /** Trusted git dir (outside the agent's reach) mounted read-only at /workspace/.git. */
  readonly gitDir: string;
  readonly repo: ResolvedRepo;
  /** Commit with the user's uncommitted changes on top of repo.commit; diffs are against it. */
  readonly baseRef: string;
  /** The view is there to work in; false: closed, answers come from the last snapshot. */
  readonly live: boolean;
  /** How the copy-on-write view was made. */
  readonly mode: 'overlay' | 'checkout';
  /** The set-up layer under the view (SetupLayer.id), when the environment's setup is in it. */
  readonly setupLayer?: string;
  readonly files: ConfinedFiles;
  /** Changed files against the base (tracked, untracked, deleted, renamed). */
  changedFiles(): Promise<ChangedFile[]>;
  /**
   * Unified diff (git, 3 lines of context) against the base, optionally for some paths. Binary
   * files come as `GIT binary patch` (so the patch applies) unless `binary: false`.
   */
  diff(paths?: string[], options?: { binary?: boolean }): Promise<string>;
  /**
   * The whole work as a patch from the base, as bytes: `git apply --binary` of it on the base gives
   * the work back exactly. Not diff(): a text file that is not UTF-8 (Latin-1, say) has its raw
   * bytes in the patch, and a string would replace them.
   */
  patch(): Promise<Buffer>;
  /** The whole diff (as diff()) and its version: the same content, the same version, wherever computed. */
  versionedDiff(): Promise<{ diff: string; version: string }>;
  /** A file's content at the base or in the agent's current version; null if it does not exist. */
  readVersion(side: 'base' | 'head', path: string): Promise<Buffer | null>;
  /** Record the current state as a commit on refs/delegate/<key>; returns the commit id. */
  snapshot(message: string): Promise<string>;
  /**
   * changedFiles() and snapshot() with one look at the view. `onChanges` gets the changed files
   * as soon as they are known (version null). The tree is written either way; `skipSnapshot` is
   * asked then: when it says so (newer changes are already waiting to be recorded) no snapshot is
   * made and `snapshot` and `version` are null; else `onChanges` gets the files again with the
   * diff's version (the tree names it) before the snapshot is written. Also null, with no version,
   * while a view just prepared still shows its base (nothing to snapshot yet).
   */
  record(message: string, hooks?: RecordHooks): Promise<{ changedFiles: ChangedFile[]; snapshot: string | null; version: string | null }>;
  /**
   * A checkpoint: the snapshot whose diff has `version` (diffVersion), found by walking this
   * copy's snapshot history. Null when there is none here.
   */
  checkpoint(version: string): Promise<Checkpoint | null>;
  /**
   * Sets the view and the index back to the checkpoint `version` and commits that state on the
   * snapshot ref on top of the current work, which so stays reachable. Needs a live view. Null:
   * no such checkpoint here (nothing was changed).
   */
  restoreCheckpoint(version: string): Promise<{ changedFiles: ChangedFile[]; snapshot: string } | null>;
  /** Unmount / release. The task's changes stay on disk (and in its snapshot ref) for review. */
  close(): Promise<void>;
  /** Remove everything for this workspace (the user removed the task). */
  destroy(): Promise<void>;
}

export interface WorkspaceManager {
  /** Store an uploaded git bundle; returns its id for {kind:'bundle', bundleId}. */
  importBundle(data: Buffer): Promise<string>;
  prepare(options: PrepareOptions): Promise<Workspace>;
  /**
   * Reopen a workspace prepared earlier (after a restart); null when it is gone. Its view is
   * mounted again unless `view: false` (then a workspace whose view is gone answers from its last
   * snapshot, with `live` false).
   */
  open(key: string, options?: { view?: boolean }): Promise<Workspace | null>;
  /**
   * Releases what a server that is gone left in the data dir (views still mounted, half-prepared
   * tasks, git locks); the work in a mounted view is recorded first. Call before anything else.
   */
  releaseLeftovers(): Promise<void>;
  /** Resolves once the work it started beside the tasks (repacks, flattened bases, commits prepared ahead) is done. */
  idle(): Promise<void>;
  /** Kills that work where it is and waits for it to end (the server stops); nothing new starts. */
  stop(): Promise<void>;
}

/**
 * A read-only layer between the commit's base and the task's writes: what the environment's setup
 * script left (environments/). The view shows it, and the task's diff is taken against it.
 */
export interface SetupLayer {
  /** Names the layer (recorded in the workspace's state, to find it again after a restart). */
  id: string;
  /** The layer directory (an overlay upper dir made read-only), stacked on the base's layers. */
  dir: string;
  /** The set-up tree's index, with the stat data of the files the view shows. */
  index: string;
  /** The set-up tree: the commit's own when setup changed nothing git sees. */
  tree: string;
  /** Pack files (.pack and .idx) holding the objects of `tree` that the commit lacks (none: same tree). */
  packs: string[];
  /** Commits of `tree` already in the packs, by the user's commit they sit on (saves a git process). */
  commits?: Readonly<Record<string, string>>;
}

export interface SetupLayerRequest {
  /** The workspace being prepared (PrepareOptions.key). */
  key: string;
  commit: string;
  /** The commit's base layers, top first (bases.ts), and a git dir holding the commit. */
  baseLayers: string[];
  baseIndex: string;
  mirrorDir: string;
  /** Settles once the mirror holds the commit (ResolvedSource.copying); absent: it does already. */
  mirrored?: Promise<void>;
  signal?: AbortSignal;
}

/** Where set-up layers come from: the workspace manager asks before it mounts a view. */
export interface SetupLayerSource {
  /** The layer to put under this workspace's view; null: none (no setup, or not for this key). */
  layerFor(request: SetupLayerRequest): Promise<SetupLayer | null>;
  /** A layer a workspace recorded, if it is still there (reopening after a restart). */
  find(id: string): Promise<SetupLayer | null>;
  /** Its directory, whether or not it is still there. */
  dirOf(id: string): string;
}

/** The work as a snapshot kept it (Workspace.checkpoint): read from git's objects, never from the view. */
export interface Checkpoint {
  readonly version: string;
  readonly commit: string;
  /** The diff from the base to it (as Workspace.diff), optionally of some paths. */
  diff(paths?: string[]): Promise<string>;
  /** A file as it was then; null when absent. */
  read(path: string): Promise<Buffer | null>;
}

export interface RecordHooks {
  /** The index holds the view as this record sees it: later changes of the view are not in its result. */
  onRefreshed?: () => void;
  onChanges?: (changedFiles: ChangedFile[], version: string | null) => void;
  skipSnapshot?: () => boolean;
}
