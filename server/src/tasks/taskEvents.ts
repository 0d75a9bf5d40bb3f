// The one way task state changes: store transaction first, then publish the committed events.
// Attempt changes re-derive the task's public fields and emit task.status when the status moved.
import { isFinished, type EventInput, type NewEvent, type RepoSpec, type Task, type TaskEvent } from '../../../protocol';
import type { EventBus } from '../eventBus';
import type { AttemptRecord, Store } from '../store/types';
import { deriveTask } from './state';

export class TaskEvents {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  publishCreated(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): void {
    this.bus.publish([this.store.createTask(task, attempts, repoSpec)]);
  }

  publishDeleted(taskId: string, actor: string | null = null): void {
    this.bus.publish([this.store.deleteTask(taskId, actor)]);
  }

  /** Who asked to cancel a task (audit): the task.status that makes it `cancelled` carries them. */
  private readonly cancellers = new Map<string, string | null>();

  noteCanceller(taskId: string, actor: string | null): void {
    this.cancellers.set(taskId, actor);
  }

  /** Returns the stored events: their seq is what later events name as their `cause`. */
  emit(taskId: string, attempt: number, events: EventInput[]): TaskEvent[] {
    const stored = this.store.appendEvents(events.map((e) => ({ ...e, taskId, ...(attempt > 0 ? { attempt } : {}) })));
    this.bus.publish(stored);
    return stored;
  }

  updateTask(taskId: string, patch: Partial<Task>, extra: (task: Task) => NewEvent[] = () => []): Task {
    const { task, events } = this.store.updateTask(taskId, patch, (t, before) => [
      ...extra(t),
      ...(before.status !== t.status ? [{ type: 'task.status' as const, taskId, status: t.status, task: t }] : []),
    ]);
    this.bus.publish(events);
    return task;
  }

  /**
   * Update one attempt, re-derive the task from all attempts, and commit both with `events`
   * (plus task.status if the task's status changed) in order. `cause` is what the task.status
   * links to: an event's seq, or 'last event' for the last of `events` (committed with it).
   */
  setAttempt(taskId: string, index: number, patch: Partial<AttemptRecord>, taskPatch: Partial<Task> = {}, events: EventInput[] = [], cause?: number | 'last event'): Task {
    this.store.updateAttempt(taskId, index, patch);
    const attempts = this.store.getAttempts(taskId);
    const current = this.store.getTask(taskId);
    if (!current) throw new Error(`no task ${taskId}`);
    const derived = deriveTask({ ...current, ...taskPatch }, attempts);
    // task.status carries the whole task: send it when the task's status moves, and also when an
    // attempt's status or the selected attempt changes (best-of-N), so every client stays current.
    // The question itself is announced by the agent's own `question` event.
    const announce =
      derived.status !== current.status ||
      (patch.status !== undefined && attempts.length > 1) ||
      ('selectedAttempt' in taskPatch && taskPatch.selectedAttempt !== current.selectedAttempt) ||
      'question' in taskPatch;
    const cancelledBy = derived.status === 'cancelled' && this.cancellers.has(taskId) ? { actor: this.cancellers.get(taskId)! } : {};
    if (derived.status && isFinished(derived.status)) this.cancellers.delete(taskId);
    const { task, events: stored } = this.store.updateTask(taskId, { ...taskPatch, ...derived }, (t) => [
      ...events.map((e) => ({ ...e, taskId, ...(index > 0 ? { attempt: index } : {}) })),
      ...(announce ? [{ type: 'task.status' as const, taskId, status: t.status, task: t, ...cancelledBy, ...statusCause(cause, events.length) }] : []),
    ]);
    this.bus.publish(stored);
    return task;
  }
}

function statusCause(cause: number | 'last event' | undefined, batched: number): { cause?: number } {
  if (cause === undefined) return {};
  if (cause !== 'last event') return { cause };
  // The store resolves -1 to the seq of the event just before (see Store).
  return batched > 0 ? { cause: -1 } : {};
}
