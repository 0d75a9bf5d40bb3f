// What "Apply to workspace" wrote for each task, persisted per workspace, so the task can say
// "Applied 2 files", refuse a second Apply of the same changes, and undo the Apply later (each
// file's text before and after; an undo only touches files still as the Apply left them).
import { Signal, type Disposable } from '../util/signal';
import type { KeyValueStore } from './reviewState';

export interface AppliedFile {
  path: string;
  /** Contents before the Apply (null: the file did not exist); base64 when `binary`. */
  before: string | null;
  /** Contents the Apply left (null: the Apply deleted it); base64 when `binary`. */
  after: string | null;
  binary?: boolean;
}

export interface AppliedRecord {
  at: string;
  /** The hunks it took, as `path#fingerprint`: the same selection again is "already applied". */
  taken: string[];
  /** The files as the user thinks of them (a rename once, by its new path). */
  paths: string[];
  /** Every file the Apply touched (a rename as its old and its new path). */
  files: AppliedFile[];
}

export class AppliedState implements Disposable {
  private readonly changed = new Signal<string>();
  /** Fired with the task id when an Apply is recorded or undone. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly store: KeyValueStore) {}

  get(taskId: string): AppliedRecord | undefined {
    return this.store.get<AppliedRecord>(key(taskId));
  }

  /** The files the standing Apply wrote; null when none stands. */
  paths(taskId: string): string[] | null {
    return this.get(taskId)?.paths ?? null;
  }

  async record(taskId: string, record: AppliedRecord): Promise<void> {
    await this.store.update(key(taskId), record);
    this.changed.fire(taskId);
  }

  async forget(taskId: string): Promise<void> {
    if (!this.get(taskId)) return;
    await this.store.update(key(taskId), undefined);
    this.changed.fire(taskId);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function key(taskId: string): string {
  return `delegate.applied.${taskId}`;
}
