// The one way task state changes: a store transaction, whose committed events the store hands to
// the event bus (store.onEvents). Attempt changes re-derive the task's public fields and emit
// task.status when the status moved. `guard`: the write is made by a running attempt (fencing).
import { isFinished, type EventInput, type NewEvent, type RepoSpec, type Task, type TaskEvent } from '../../../protocol';
import type { AttemptRecord, Guard, Store } from '../store/types';
import { deriveTask } from './state';

export class TaskEvents {
  constructor(private readonly store: Store) {}

  async publishCreated(task: Task, attempts: AttemptRecord[], repoSpec: RepoSpec): Promise<void> {
    await this.store.createTask(task, attempts, repoSpec);
  }

  async publishDeleted(taskId: string, actor: string | null = null): Promise<void> {
    await this.store.deleteTask(taskId, actor);
  }

  /**
   * Who asked to cancel a task (audit) and the event of that request: the task.status that makes
   * it `cancelled` carries the actor and names the request as its cause.
   */
  private readonly cancellers = new Map<string, { actor: string | null; cause?: number }>();

  noteCanceller(taskId: string, actor: string | null, request?: number): void {
    this.cancellers.set(taskId, { actor, ...(request !== undefined ? { cause: request } : {}) });
  }

  /** Returns the stored events: their seq is what later events name as their `cause`. */
  emit(taskId: string, attempt: number, events: EventInput[], guard?: Guard): Promise<TaskEvent[]> {
    return this.store.appendEvents(
      events.map((e) => ({ ...e, taskId, ...(attempt > 0 ? { attempt } : {}) })),
      guard,
    );
  }

  async updateTask(taskId: string, patch: Partial<Task>, extra: (task: Task) => NewEvent[] = () => [], guard?: Guard): Promise<Task> {
    const { task } = await this.store.updateTask(
      taskId,
      patch,
      (t, before) => [...extra(t), ...(before.status !== t.status ? [{ type: 'task.status' as const, taskId, status: t.status, task: t }] : [])],
      guard,
    );
    return task;
  }

  /**
   * Update one attempt, re-derive the task from all attempts, and commit both with `events`
   * (plus task.status if the task's status changed) in order, in one store transaction. `cause` is
   * what the task.status links to: an event's seq, or 'last event' for the last of `events`.
   */
  async setAttempt(
    taskId: string,
    index: number,
    patch: Partial<AttemptRecord>,
    taskPatch: Partial<Task> = {},
    events: EventInput[] = [],
    cause?: number | 'last event',
    guard?: Guard,
  ): Promise<Task> {
    const canceller = this.cancellers.get(taskId);
    const { task } = await this.store.updateAttemptAndTask(
      taskId,
      index,
      patch,
      (attempts, current) => {
        const derived = deriveTask({ ...current, ...taskPatch }, attempts);
        // task.status carries the whole task: send it when the task's status moves, and also when an
        // attempt's status or the selected attempt changes (best-of-N), so every client stays current.
        // The question itself is announced by the agent's own `question` event.
        const announce =
          derived.status !== current.status ||
          (patch.status !== undefined && attempts.length > 1) ||
          ('selectedAttempt' in taskPatch && taskPatch.selectedAttempt !== current.selectedAttempt) ||
          'question' in taskPatch;
        const cancelledBy = derived.status === 'cancelled' && canceller ? canceller : {};
        return {
          patch: { ...taskPatch, ...derived },
          events: (t) => [
            ...events.map((e) => ({ ...e, taskId, ...(index > 0 ? { attempt: index } : {}) })),
            ...(announce ? [{ type: 'task.status' as const, taskId, status: t.status, task: t, ...cancelledBy, ...statusCause(cause, events.length) }] : []),
          ],
        };
      },
      guard,
    );
    if (isFinished(task.status)) this.cancellers.delete(taskId);
    return task;
  }
}

function statusCause(cause: number | 'last event' | undefined, batched: number): { cause?: number } {
  if (cause === undefined) return {};
  if (cause !== 'last event') return { cause };
  // The store resolves -1 to the seq of the event just before (see Store).
  return batched > 0 ? { cause: -1 } : {};
}
