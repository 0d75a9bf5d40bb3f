// The workspaces this server has open, by key. `get` gives a workspace to work in (reopened, or
// prepared); `find` one to read from, which mounts nothing when its view is gone. Calls for one
// key run one after another, so no two callers prepare or mount the same workspace, and nothing
// opens once closeAll() has begun: a stopped server leaves no view mounted.
import type { Environments } from '../environments/service';
import type { Store } from '../store/types';
import type { PrepareOptions, Workspace, WorkspaceManager } from '../workspace/types';
import type { WorkSource } from '../workspace/workTransfer';

export class WorkspaceCache {
  private readonly entries = new Map<string, Promise<Workspace | null>>();
  private closing = false;

  constructor(
    private readonly manager: WorkspaceManager,
    private readonly store: Store,
    /** A fleet's: this disk is only a cache of the work saved in the store (workspace/workTransfer.ts). */
    private readonly work?: WorkSource,
    /** For a workspace prepared to read: its environment's set-up layer, as a run would have it. */
    private readonly environments?: Pick<Environments, 'reading'>,
  ) {}

  /** `onView`: see PrepareOptions (only called when the workspace is prepared, not reopened). */
  get(taskId: string, key: string, signal?: AbortSignal, onLog?: (line: string) => void, onView?: PrepareOptions['onView']): Promise<Workspace> {
    return this.next(key, async (known) => {
      const local = known?.live ? known : await this.manager.open(key);
      // Checked even when this node holds the attempt: it may have claimed it just now, with a
      // copy from before another node's run.
      if (local && (!this.work || (await this.work.current(key, { verify: true })))) return local;
      // Another node worked on it since this copy was made: start again from the saved work.
      if (local) await local.destroy();
      return this.prepare(taskId, key, signal, onLog, onView);
    }) as Promise<Workspace>;
  }

  /** A workspace prepared earlier, live or answering from its last snapshot; null if none. */
  find(key: string): Promise<Workspace | null> {
    return this.next(key, async (known) => {
      const local = known ?? (await this.manager.open(key, { view: false }));
      const { work } = this;
      if (!work || (await work.current(key))) return local;
      // A fleet node asked about an attempt another node ran: made here from the saved work.
      if (local) await local.destroy();
      const taskId = key.length > 36 ? key.slice(0, 36) : key;
      const task = await this.store.getTask(taskId);
      const end = task ? this.environments?.reading(key, task.options) : undefined;
      try {
        return await this.prepare(taskId, key);
      } finally {
        end?.();
      }
    }).catch(() => null);
  }

  private async prepare(taskId: string, key: string, signal?: AbortSignal, onLog?: (line: string) => void, onView?: PrepareOptions['onView']): Promise<Workspace> {
    const repo = await this.store.getRepoSpec(taskId);
    if (!repo) throw Object.assign(new Error(`task ${taskId} has no repository spec`), { code: 'repo_error' });
    const prepared = await this.manager.prepare({ key, repo, signal, onLog, onView });
    await this.work?.restore(key, prepared);
    return prepared;
  }

  async destroy(key: string): Promise<void> {
    const ws = await this.find(key);
    this.entries.delete(key);
    await ws?.destroy();
    await this.work?.forget(key);
  }

  /** Closes every workspace (their views are unmounted); later calls fail. */
  async closeAll(): Promise<void> {
    this.closing = true;
    while (this.entries.size > 0) {
      const all = [...this.entries.values()];
      this.entries.clear();
      await Promise.allSettled(all.map(async (p) => (await p)?.close()));
    }
  }

  /** Runs `step` after whatever is under way for `key`, with the workspace that left. */
  private next(key: string, step: (known: Workspace | null) => Promise<Workspace | null>): Promise<Workspace | null> {
    if (this.closing) return Promise.reject(new Error('the server is shutting down'));
    const before = this.entries.get(key) ?? Promise.resolve(null);
    const after = before.catch(() => null).then(step);
    this.entries.set(key, after);
    after.catch(() => {
      if (this.entries.get(key) === after) this.entries.delete(key);
    });
    return after;
  }
}
