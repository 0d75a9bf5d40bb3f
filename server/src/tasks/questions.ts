// The agent's questions to the user, one pending per attempt: the runner asks (the attempt waits
// for input and gives its slot to the next task), the service answers (the attempt takes a slot
// again, queued until one is free, and goes on).
import { randomUUID } from 'node:crypto';
import type { Guard } from '../store/types';
import type { Lease } from './scheduler';
import type { TaskEvents } from './taskEvents';

export interface AttemptRef {
  taskId: string;
  index: number;
  /** The attempt's workspace key: pending questions are kept by it. */
  key: string;
  /** Set when the attempt runs under a fleet lease: its writes are fenced. */
  guard?: Guard;
}

interface Pending {
  resolve: (answer: string, cause: number | undefined) => void;
}

export class Questions {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly events: TaskEvents) {}

  /**
   * Pauses the attempt until the user answers (resolves with the answer) or `signal` aborts
   * (rejects). `cause` is the seq of the event that raised the question (the agent's call).
   */
  ask(attempt: AttemptRef, question: string, signal: AbortSignal, lease: Lease | undefined, cause?: number): Promise<string> {
    const { events } = this;
    const { taskId, index, key, guard } = attempt;
    return new Promise<string>((resolve, reject) => {
      const id = randomUUID();
      const onAbort = () => {
        this.pending.delete(key);
        reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(key, {
        resolve: (answer, answerCause) => {
          this.pending.delete(key);
          const resumed = async () => {
            signal.removeEventListener('abort', onAbort);
            await events.setAttempt(taskId, index, { status: 'running' }, { question: undefined }, [], answerCause, guard);
            resolve(answer);
          };
          if (!lease) return void resumed().catch(reject);
          // Written before the running status: the queued one (no free slot) comes first.
          let waiting: Promise<unknown> = Promise.resolve();
          void lease
            .resume(() => (waiting = events.setAttempt(taskId, index, { status: 'queued' }, { question: undefined }, [], answerCause, guard)))
            .then(() => waiting)
            .then(() => (signal.aborted ? undefined : resumed()))
            .catch(reject);
        },
      });
      events.setAttempt(taskId, index, { status: 'waiting_for_input' }, { question: { id: `${index}:${id}`, text: question } }, [], cause, guard).then(
        // Aborted meanwhile: the run is ending and gives its slot back itself.
        () => (signal.aborted ? undefined : lease?.park()),
        (err: unknown) => {
          this.pending.delete(key);
          signal.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  isWaiting(key: string): boolean {
    return this.pending.has(key);
  }

  /** Gives the attempt its answer; false when it was not waiting for one. `cause`: the answer's event. */
  answer(key: string, text: string, cause?: number): boolean {
    const pending = this.pending.get(key);
    if (!pending) return false;
    pending.resolve(text, cause);
    return true;
  }

  /** The attempt ended: a question it left is void. */
  drop(key: string): void {
    this.pending.delete(key);
  }
}
