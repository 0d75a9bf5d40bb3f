// The parsed diff of each task, fetched on demand and refetched after the agent changed files.
// Hunk indexes everywhere in the review come from here (same parser as the server's PR code).
import { parseUnifiedDiff, type FileDiff } from '../../protocol';
import type { ApiClient } from '../server/apiClient';
import type { Result } from '../util/result';
import { Signal, type Disposable } from '../util/signal';

interface Entry {
  /** Bumped by invalidate() so a fetch started before a change does not overwrite newer data. */
  version: number;
  loading?: Promise<Result<FileDiff[]>>;
  files?: FileDiff[];
  /** The server's name for this diff (newer servers); a pull request's decisions carry it. */
  diffVersion?: string;
}

export class DiffStore implements Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new Signal<string>();
  /** A task's parsed diff was (re)loaded. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly api: ApiClient) {}

  /** The diff if loaded; starts loading it otherwise (listen to onDidChange). */
  peek(taskId: string): FileDiff[] | undefined {
    const entry = this.entries.get(taskId);
    if (!entry?.files && !entry?.loading) void this.get(taskId);
    return entry?.files;
  }

  get(taskId: string): Promise<Result<FileDiff[]>> {
    let entry = this.entries.get(taskId);
    if (!entry) {
      entry = { version: 0 };
      this.entries.set(taskId, entry);
    }
    if (entry.files && !entry.loading) return Promise.resolve({ ok: true, value: entry.files });
    if (entry.loading) return entry.loading;
    const version = entry.version;
    const current = entry;
    current.loading = this.api.diff(taskId).then((r) => {
      if (current.version !== version || this.entries.get(taskId) !== current) {
        // Changed while loading: the answer may be stale, fetch again.
        current.loading = undefined;
        return this.get(taskId);
      }
      current.loading = undefined;
      if (!r.ok) return r;
      current.files = parseUnifiedDiff(r.value.text);
      current.diffVersion = r.value.version;
      this.changed.fire(taskId);
      return { ok: true, value: current.files };
    });
    return current.loading;
  }

  /** The version of the loaded diff, when the server names it. */
  version(taskId: string): string | undefined {
    const entry = this.entries.get(taskId);
    return entry?.files ? entry.diffVersion : undefined;
  }

  async file(taskId: string, path: string): Promise<FileDiff | undefined> {
    const r = await this.get(taskId);
    return r.ok ? r.value.find((f) => f.path === path || f.oldPath === path) : undefined;
  }

  invalidate(taskId: string): void {
    const entry = this.entries.get(taskId);
    if (!entry) return;
    entry.version++;
    entry.files = undefined;
    this.changed.fire(taskId);
  }

  forget(taskId: string): void {
    this.entries.delete(taskId);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
