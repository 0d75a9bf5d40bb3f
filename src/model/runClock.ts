// How long a task has actually run: the sum of its preparing and running spans, from the status
// events' timestamps. The idle time of a finished task before a follow-up, and the time it waits
// for the user's answer, do not count. Pure (no `vscode`).
import type { TaskStatus } from '../../protocol/task';

const RUNNING: ReadonlySet<TaskStatus> = new Set(['preparing', 'running']);

export class RunClock {
  private totalMs = 0;
  private since: number | undefined;

  /** A status the task entered at `atMs` (epoch ms). */
  note(status: TaskStatus, atMs: number): void {
    if (!Number.isFinite(atMs)) return;
    if (RUNNING.has(status)) {
      this.since ??= atMs;
      return;
    }
    if (this.since !== undefined) this.totalMs += Math.max(0, atMs - this.since);
    this.since = undefined;
  }

  get running(): boolean {
    return this.since !== undefined;
  }

  elapsedMs(nowMs: number): number {
    return this.totalMs + (this.since !== undefined ? Math.max(0, nowMs - this.since) : 0);
  }
}
