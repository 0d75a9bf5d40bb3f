// What the page knows: the tasks (from GET /v1/tasks, then kept current by the event stream), each
// task's timeline (folded by the extension's own Timeline, so both show the same items and words)
// and the connection. Components subscribe and re-render on change.
import type { Task, TaskEvent } from '../../protocol';
import { hasAttempts, reduceAttempt } from '../../src/model/attempts';
import { Timeline } from '../../src/model/timeline';
import type { StreamState } from './stream';

export class AppState {
  readonly tasks = new Map<string, Task>();
  private readonly timelines = new Map<string, Timeline>();
  connection: { state: StreamState; detail?: string } = { state: 'connecting' };
  /** Rises on every change; components compare it to re-render. */
  version = 0;
  private readonly listeners = new Set<() => void>();
  private scheduled = false;

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Newest first, as the API lists them. */
  list(): Task[] {
    return [...this.tasks.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  timeline(taskId: string): Timeline {
    let t = this.timelines.get(taskId);
    if (!t) {
      t = new Timeline();
      this.timelines.set(taskId, t);
    }
    return t;
  }

  setTasks(tasks: readonly Task[]): void {
    for (const t of tasks) this.upsert(t);
    this.changed();
  }

  upsert(task: Task): void {
    const known = this.tasks.get(task.id);
    // A REST answer may be older than what the stream already said.
    if (known && known.updatedAt > task.updatedAt) return;
    this.tasks.set(task.id, task);
    this.changed();
  }

  setConnection(state: StreamState, detail?: string): void {
    this.connection = detail ? { state, detail } : { state };
    this.changed();
  }

  apply(event: TaskEvent): void {
    const task = this.tasks.get(event.taskId);
    switch (event.type) {
      case 'task.created':
      case 'task.status':
        this.tasks.set(event.taskId, event.task);
        break;
      case 'task.deleted':
        this.tasks.delete(event.taskId);
        this.timelines.delete(event.taskId);
        this.changed();
        return;
      case 'usage':
      case 'diff.updated':
      case 'agent.finished': {
        if (!task) break;
        // Best-of-N: the attempt's own entry (and the task's summed usage), as the extension folds it.
        let next = reduceAttempt(task, event);
        if ((event.attempt ?? 0) === (task.selectedAttempt ?? 0)) {
          if (event.type === 'diff.updated') next = { ...next, changedFiles: event.changedFiles };
          if (event.type === 'usage' && !hasAttempts(task)) next = { ...next, usage: event.usage };
        }
        this.tasks.set(task.id, next);
        break;
      }
      case 'pull_request':
        if (task) this.tasks.set(task.id, { ...task, pullRequest: event.pullRequest });
        break;
      default:
        break;
    }
    this.timeline(event.taskId).apply(event);
    this.changed();
  }

  /** Listeners run once per animation frame at most: a replay of thousands of events paints once. */
  private changed(): void {
    this.version++;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }
}
