// The task model owns every task the server told us about and each task's timeline; views only
// render it. Events are applied at most once (by seq) so replays after a reconnect are harmless.
import { type Task, type TaskEvent, type TaskStatus } from '../../protocol';
import type { StreamFrame } from '../server/frames';
import { Signal, type Disposable } from '../util/signal';
import { reduceAttempt, sameFiles } from './attempts';
import { RunClock } from './runClock';
import { Timeline } from './timeline';

export interface Transition {
  task: Task;
  previous: TaskStatus | undefined;
}

export interface TaskModelSnapshot {
  lastSeq: number;
  replaying: boolean;
  tasks: Task[];
}

export class TaskModel implements Disposable {
  private readonly tasks = new Map<string, Task>();
  private readonly timelines = new Map<string, Timeline>();
  private readonly clocks = new Map<string, RunClock>();
  private seq = 0;
  /** True from (re)connect until the server says the replay is done: no notifications meanwhile. */
  private replayingLog = true;

  private readonly changed = new Signal<void>();
  private readonly timelineChanged = new Signal<string>();
  private readonly diffChanged = new Signal<string>();
  private readonly transitioned = new Signal<Transition>();
  private readonly questionAsked = new Signal<{ task: Task; text: string; choices: string[] }>();
  /** The task list (statuses, counts, order) changed. */
  readonly onDidChange = this.changed.event;
  /** A task's timeline grew; fired with the task id. */
  readonly onDidChangeTimeline = this.timelineChanged.event;
  /** A task's changed files moved on; fired with the task id. */
  readonly onDidChangeDiff = this.diffChanged.event;
  /** Live status changes only (never during a replay). */
  readonly onDidTransition = this.transitioned.event;
  readonly onDidAskQuestion = this.questionAsked.event;

  get lastSeq(): number {
    return this.seq;
  }

  get replaying(): boolean {
    return this.replayingLog;
  }

  get(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  /**
   * Newest first, by creation only: a task keeps its row while its status changes, so a click
   * never lands on a row that just moved (the status shows in its icon).
   */
  list(): Task[] {
    return [...this.tasks.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  }

  timeline(id: string): Timeline | undefined {
    return this.timelines.get(id);
  }

  /** How long the task has run (its idle and waiting time left out); undefined before any status event. */
  runTimeMs(id: string, nowMs = Date.now()): number | undefined {
    return this.clocks.get(id)?.elapsedMs(nowMs);
  }

  snapshot(): TaskModelSnapshot {
    return { lastSeq: this.seq, replaying: this.replayingLog, tasks: structuredClone(this.list()) };
  }

  applyFrame(frame: StreamFrame): void {
    switch (frame.type) {
      case 'skipped':
        // An event of a type this extension does not know (a newer server): nothing to show.
        if (frame.seq > this.seq) this.seq = frame.seq;
        return;
      case 'hello':
        this.replayingLog = frame.lastSeq > this.seq;
        return;
      case 'replayed':
        this.replayingLog = false;
        this.changed.fire();
        return;
      case 'event':
        this.applyEvent(frame.event);
        return;
      case 'error':
        return;
      default: {
        const unreachable: never = frame;
        return unreachable;
      }
    }
  }

  applyEvent(event: TaskEvent): void {
    if (event.seq <= this.seq) return;
    this.seq = event.seq;
    if (event.type === 'task.deleted') {
      this.remove(event.taskId);
      return;
    }
    if (event.type === 'task.created' || event.type === 'task.status') {
      let clock = this.clocks.get(event.taskId);
      if (!clock) this.clocks.set(event.taskId, (clock = new RunClock()));
      clock.note(event.task.status, Date.parse(event.at));
    }
    const before = this.tasks.get(event.taskId);
    const task = this.reduceTask(before, event);
    if (task) this.tasks.set(task.id, task);
    if (!this.timelines.has(event.taskId)) this.timelines.set(event.taskId, new Timeline());
    if (this.timelines.get(event.taskId)!.apply(event)) this.timelineChanged.fire(event.taskId);
    // A diff.updated of the mirrored attempt may change contents without changing the counts.
    const mirrored = event.type === 'diff.updated' && (event.attempt ?? 0) === (task?.selectedAttempt ?? 0);
    if (mirrored || diffMoved(before, task)) this.diffChanged.fire(event.taskId);
    if (task && task !== before) {
      this.changed.fire();
      if (!this.replayingLog && before?.status !== task.status) this.transitioned.fire({ task, previous: before?.status });
      if (!this.replayingLog && event.type === 'question') this.questionAsked.fire({ task, text: event.text, choices: event.choices ?? [] });
    }
  }

  /** A task as a REST answer has it (creation, refresh); an older copy never replaces a newer one. */
  upsert(task: Task): void {
    const before = this.tasks.get(task.id);
    if (before && before.updatedAt > task.updatedAt) return;
    this.tasks.set(task.id, task);
    if (!this.timelines.has(task.id)) this.timelines.set(task.id, new Timeline());
    if (before && this.timelines.get(task.id)!.noteSelection(task)) this.timelineChanged.fire(task.id);
    this.changed.fire();
    if (before && diffMoved(before, task)) this.diffChanged.fire(task.id);
  }

  /** After a replay: the server's list is the truth about which tasks exist. */
  reconcile(tasks: Task[]): void {
    const ids = new Set(tasks.map((t) => t.id));
    for (const id of [...this.tasks.keys()]) if (!ids.has(id)) this.remove(id);
    for (const task of tasks) this.upsert(task);
  }

  remove(id: string): void {
    const had = this.tasks.delete(id);
    this.timelines.delete(id);
    this.clocks.delete(id);
    if (had) this.changed.fire();
  }

  /** The server lost its log (a fresh data dir): forget everything and replay from zero. */
  reset(): void {
    this.tasks.clear();
    this.timelines.clear();
    this.clocks.clear();
    this.seq = 0;
    this.replayingLog = true;
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
    this.timelineChanged.dispose();
    this.diffChanged.dispose();
    this.transitioned.dispose();
    this.questionAsked.dispose();
  }

  private reduceTask(task: Task | undefined, event: TaskEvent): Task | undefined {
    if (event.type === 'task.created' || event.type === 'task.status') return { ...event.task };
    if (!task) return undefined;
    // Best-of-N: the task's top-level fields mirror the selected attempt only; usage is the sum.
    const multi = (task.attempts?.length ?? 0) > 1;
    const selected = (event.attempt ?? 0) === (task.selectedAttempt ?? 0);
    if (multi) task = reduceAttempt(task, event);
    switch (event.type) {
      case 'diff.updated':
        return selected ? { ...task, changedFiles: event.changedFiles } : task;
      case 'usage':
        return multi ? task : { ...task, usage: event.usage };
      case 'question':
        return { ...task, question: { id: event.questionId, text: event.text } };
      case 'agent.finished':
        return selected ? { ...task, summary: event.summary, testResult: event.testResult } : task;
      case 'pull_request':
        return { ...task, pullRequest: event.pullRequest };
      default:
        return task;
    }
  }
}

/**
 * The review diff of a task is stale when the files it mirrors moved on: new changed files, or
 * another best-of-N attempt selected (its files may even have the same names and counts).
 */
function diffMoved(before: Task | undefined, after: Task | undefined): boolean {
  if (!before || !after) return false;
  if ((before.selectedAttempt ?? 0) !== (after.selectedAttempt ?? 0)) return true;
  return !sameFiles(before.changedFiles, after.changedFiles);
}
