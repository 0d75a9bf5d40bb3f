// A fleet node's disk is only a cache: after each snapshot the attempt's work (everything that
// differs from its base, binary-safe: `git diff --binary`) goes to the store as a blob, and a node
// that opens an attempt it does not have on disk prepares the workspace from the task's repository
// spec (as the first node did) and applies that patch.
//
// Blobs are keyed by the attempt and the fence of the run that wrote them (`work/KEY@FENCE`): a
// node that lost the attempt and writes late cannot overwrite the work of the node that took it
// over, and the taker reads the newest work written under a fence before its own.
import { createHash } from 'node:crypto';
import type { Logger } from '../log';
import type { Guard, Store } from '../store/types';
import { firstLine, runGit, type Host } from './git';
import type { Workspace } from './types';

/** Fences below the taker's that are searched for work (each claim or requeue raises it by one). */
const MAX_LOOKBACK = 64;

export interface WorkTransferDeps {
  store: Store;
  host: Host;
  /** The sandbox user: the applied files must be theirs, as the agent's own writes are. */
  sandboxUid: number;
  log: Logger;
}

export function workBlobKey(key: string, fence: number): string {
  return `work/${key}@${fence}`;
}

/** What the workspace cache asks of a fleet (tasks/workspaceCache.ts); a single node has none. */
export interface WorkSource {
  /**
   * Whether the copy on this node's disk holds the attempt's newest saved work. `verify`: ask the
   * store even while this node holds the attempt (a run starting here, whose copy may predate
   * another node's run).
   */
  current(key: string, options?: { verify?: boolean }): Promise<boolean>;
  /** Puts the newest saved work into a workspace just prepared from the repository spec. */
  restore(key: string, workspace: Workspace): Promise<void>;
  /** The attempt is gone (its task removed): its saved work too. */
  forget(key: string): Promise<void>;
}

/** Attempt keys are the task's id (a UUID), with `-INDEX` for best-of-N (tasks/state.ts attemptKey). */
function taskIdOf(key: string): string {
  return key.length > 36 ? key.slice(0, 36) : key;
}

function digest(patch: Buffer | string): string {
  return createHash('sha256').update(patch).digest('hex');
}

export class WorkTransfer implements WorkSource {
  /** Per attempt key: the work this node's copy holds (what it saved or restored last). */
  private readonly local = new Map<string, string>();
  /** Whether this node holds the attempt now (its copy is the newest by definition). */
  holds: (key: string) => boolean = () => false;

  constructor(private readonly deps: WorkTransferDeps) {}

  /** Saves the work as the snapshot just taken left it (the view is what the snapshot holds). */
  async save(guard: Guard, workspace: Workspace): Promise<void> {
    const patch = await workspace.patch();
    await this.deps.store.putBlob(workBlobKey(guard.key, guard.fence), patch);
    this.local.set(guard.key, digest(patch));
  }

  /** The newest work saved under `fence` or an earlier one; undefined when the attempt has none. */
  async latest(key: string, fence: number): Promise<{ fence: number; patch: Buffer } | undefined> {
    for (let f = fence; f >= Math.max(0, fence - MAX_LOOKBACK); f--) {
      const patch = await this.deps.store.getBlob(workBlobKey(key, f));
      if (patch) return { fence: f, patch };
    }
    return undefined;
  }

  async current(key: string, options: { verify?: boolean } = {}): Promise<boolean> {
    if (!options.verify && this.holds(key)) return true;
    const saved = await this.latest(key, await this.fenceOf(key));
    return !saved || this.local.get(key) === digest(saved.patch);
  }

  async restore(key: string, workspace: Workspace): Promise<void> {
    const saved = await this.latest(key, await this.fenceOf(key));
    if (!saved) return;
    if (saved.patch.length > 0) {
      const r = await runGit(['apply', '--binary', '--whitespace=nowarn', '-'], {
        host: this.deps.host,
        gitDir: workspace.gitDir,
        workTree: workspace.dir,
        cwd: workspace.dir,
        input: saved.patch,
        asUid: process.getuid?.() === 0 ? this.deps.sandboxUid : undefined,
      });
      if (r.code !== 0) throw Object.assign(new Error(`could not apply the work saved by another node: ${firstLine(r.stderr)}`), { code: 'repo_error' });
    }
    this.local.set(key, digest(saved.patch));
    this.deps.log.info('work restored from the store', { key, fence: saved.fence, bytes: saved.patch.length });
  }

  /** The attempt is gone (its task deleted). */
  async forget(key: string): Promise<void> {
    this.local.delete(key);
    await this.deps.store.deleteBlobs(`work/${key}@`);
  }

  private async fenceOf(key: string): Promise<number> {
    const attempt = (await this.deps.store.getAttempts(taskIdOf(key))).find((a) => a.workspaceKey === key);
    return attempt?.fence ?? 0;
  }
}
