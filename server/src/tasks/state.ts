// Pure functions from attempts to the task's public view. With one attempt the task mirrors it;
// with best-of-N the task is active while any attempt is, and mirrors the selected attempt.
import { addUsage, EMPTY_USAGE, type AttemptInfo, type Task, type TaskStatus } from '../../../protocol';
import type { AttemptRecord } from '../store/types';

export function attemptKey(taskId: string, index: number, attempts: number): string {
  return attempts > 1 ? `${taskId}-${index}` : taskId;
}

const ACTIVE_ORDER: TaskStatus[] = ['waiting_for_input', 'running', 'preparing', 'queued'];
const FINISHED_ORDER: TaskStatus[] = ['completed', 'failed', 'interrupted', 'cancelled'];

/** The task fields that follow from its attempts. */
export function deriveTask(task: Task, attempts: AttemptRecord[]): Partial<Task> {
  let status: TaskStatus | undefined;
  for (const s of ACTIVE_ORDER) if (attempts.some((a) => a.status === s)) { status = s; break; }
  let selected = task.selectedAttempt;
  if (status === undefined) {
    if (selected === undefined && attempts.length > 1) {
      selected = attempts.find((a) => a.status === 'completed')?.index;
    }
    const pick = attempts.find((a) => a.index === (selected ?? 0));
    status = pick?.status ?? 'failed';
    if (attempts.length > 1 && selected === undefined) {
      for (const s of FINISHED_ORDER) if (attempts.some((a) => a.status === s)) { status = s; break; }
    }
  }
  const mirror = attempts.find((a) => a.index === (selected ?? 0)) ?? attempts[0];
  const usage = attempts.reduce((u, a) => addUsage(u, a.usage), EMPTY_USAGE);
  const patch: Partial<Task> = {
    status,
    usage,
    changedFiles: mirror?.changedFiles ?? [],
    summary: mirror?.summary,
    testResult: mirror?.testResult,
    error: status === 'completed' || status === 'running' || status === 'preparing' || status === 'queued' ? undefined : mirror?.error,
  };
  if (attempts.length > 1) {
    patch.attempts = attempts.map<AttemptInfo>((a) => ({
      index: a.index,
      status: a.status,
      changedFiles: a.changedFiles,
      summary: a.summary,
      error: a.error,
      usage: a.usage,
    }));
    patch.selectedAttempt = selected;
  }
  return patch;
}
