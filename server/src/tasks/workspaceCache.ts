// Open workspaces by key: reuse the one in memory, reopen one prepared before a restart, or
// prepare it. Concurrent callers share one preparation.
import type { Store } from '../store/types';
import type { PrepareOptions, Workspace, WorkspaceManager } from '../workspace/types';

export class WorkspaceCache {
  private readonly open = new Map<string, Promise<Workspace>>();

  constructor(
    private readonly manager: WorkspaceManager,
    private readonly store: Store,
  ) {}

  /** `onView`: see PrepareOptions (only called when the workspace is prepared, not reopened). */
  get(taskId: string, key: string, signal?: AbortSignal, onLog?: (line: string) => void, onView?: PrepareOptions['onView']): Promise<Workspace> {
    let p = this.open.get(key);
    if (!p) {
      p = (async () => {
        const existing = await this.manager.open(key);
        if (existing) return existing;
        const repo = this.store.getRepoSpec(taskId);
        if (!repo) throw Object.assign(new Error(`task ${taskId} has no repository spec`), { code: 'repo_error' });
        return this.manager.prepare({ key, repo, signal, onLog, onView });
      })();
      this.open.set(key, p);
      p.catch(() => this.open.delete(key));
    }
    return p;
  }

  /** An already prepared workspace, without preparing one (for diffs of tasks that never ran). */
  async find(key: string): Promise<Workspace | null> {
    const p = this.open.get(key);
    if (p) return p.catch(() => null);
    const ws = await this.manager.open(key);
    if (ws) this.open.set(key, Promise.resolve(ws));
    return ws;
  }

  async destroy(key: string): Promise<void> {
    const ws = await this.find(key);
    this.open.delete(key);
    await ws?.destroy();
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }
}
