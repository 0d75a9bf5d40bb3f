// The agent's work made visible and durable while it runs. After each file-changing tool call the
// changed files are refreshed (clients hear of them at once: diff.updated) and the work is
// snapshotted (it survives a crash), in the background and coalesced over a burst of edits. Each
// snapshot also names the diff it makes (diffVersion, from its tree), so review decisions can say
// which diff they were made on.
//
// Checkpoints: the work as each turn of the agent (a model response and its tool calls) left it.
// The record of a turn's last file-changing call snapshots at once (not after the second of
// coalescing), in the background, and its diff.updated says `checkpoint: true` once the snapshot
// commit exists. The agent waits for none of it. The record has read the view long before a
// real model has answered; when the next turn's first change began before that (a scripted model
// answering within milliseconds, behind a slow record), the record may hold some of that turn's
// work, so it is no checkpoint and the next turn's covers both. The snapshot ref's history is the
// only store of checkpoints (Workspace.checkpoint finds one by its diffVersion).
import type { ChangedFile } from '../../../protocol';
import type { Logger } from '../log';
import type { Store } from '../store/types';
import type { Workspace } from '../workspace/types';
import type { WorkTransfer } from '../workspace/workTransfer';
import type { AttemptRef } from './questions';
import type { TaskEvents } from './taskEvents';

/**
 * Snapshots of a burst of changes come at most this often: the records between them only refresh
 * the changed files (two git processes instead of four), and one more record snapshots the
 * burst's end. A server that dies meanwhile leaves that work in the view, where the restart finds it.
 */
export const SNAPSHOT_EVERY_MS = 1000;

/** The response header of GET /v1/tasks/{id}/diff that carries the diff's version (Workspace.versionedDiff). */
export const DIFF_VERSION_HEADER = 'x-delegate-diff-version';

interface RecordState {
  pending: boolean;
  done: Promise<void> | null;
  /** The agent's file-changing tool calls so far. */
  changes: number;
  /** How many of them the last finished record had seen... */
  recorded: number;
  /** ...and the last snapshot, taken when. */
  snapshotted: number;
  snapshotAt: number;
  /** The deferred snapshot of a burst's end. */
  timer: NodeJS.Timeout | null;
  /** The event (a tool call) behind the latest change: what diff.updated links to. */
  cause: number | undefined;
  /** `changes` when the last turn that changed files ended: a checkpoint is wanted up to there... */
  turnEnd: number;
  /** ...and the changes the last checkpoint snapshot covered. */
  checkpointed: number;
  /** File-changing calls begun so far (beforeChanges), and how many had when the last turn ended. */
  begun: number;
  begunAtTurnEnd: number;
}

export class DiffRecorder {
  private readonly records = new Map<string, RecordState>();
  /** The diff version last announced per attempt key (kept until the task is deleted). */
  private readonly versions = new Map<string, string>();
  /** The diff version of the last checkpoint per attempt key: a turn that ends on it is no new one. */
  private readonly checkpoints = new Map<string, string>();

  /** `transfer`: a fleet's; each snapshot's work also goes to the store (workspace/workTransfer.ts). */
  constructor(private readonly deps: { store: Store; events: TaskEvents; log: Logger; transfer?: WorkTransfer }) {}

  /**
   * The agent changed files (`cause`: the tool call that did): record in the background.
   * `turnEnds`: no later call of this turn changes files, so this record is the turn's checkpoint.
   */
  changed(attempt: AttemptRef, workspace: Workspace, cause?: number, turnEnds = false): void {
    const state = this.state(attempt.key);
    state.cause = cause ?? state.cause;
    state.changes++;
    if (turnEnds) {
      state.turnEnd = state.changes;
      state.begunAtTurnEnd = state.begun;
    }
    this.schedule(attempt, workspace);
  }

  /** A file-changing call begins: a turn's record that reads the view after this is no checkpoint. */
  beforeChanges(key: string): void {
    const state = this.records.get(key);
    if (state) state.begun++;
  }

  /** Waits for the record in flight, if any (before a question: the user reviews current work). */
  async settle(key: string): Promise<void> {
    await this.records.get(key)?.done;
  }

  /**
   * The attempt's final changed files and snapshot. When a background record already snapshotted
   * the agent's last change, its result stands: the sandbox is idle, so the files cannot have moved.
   */
  async final(attempt: AttemptRef, workspace: Workspace): Promise<ChangedFile[]> {
    await this.settle(attempt.key);
    const state = this.records.get(attempt.key);
    const current = (await this.deps.store.getAttempts(attempt.taskId)).find((a) => a.index === attempt.index);
    if (state?.timer) clearTimeout(state.timer);
    if (state && state.changes > 0 && state.checkpointed === state.changes && current) return current.changedFiles;
    // The run's end is a turn's end: changes not in a checkpoint yet make one.
    return this.record(attempt, workspace, 'final state', { cause: state?.cause, checkpoint: (state?.changes ?? 0) > 0 });
  }

  /** The run stopped (cancelled, failed): its work as it is, a checkpoint if it changed since the last one. */
  stopped(attempt: AttemptRef, workspace: Workspace): Promise<ChangedFile[]> {
    const state = this.records.get(attempt.key);
    if (state?.timer) clearTimeout(state.timer);
    return this.record(attempt, workspace, 'stopped', { cause: state?.cause, checkpoint: state !== undefined && state.changes > state.checkpointed });
  }

  /**
   * The attempt's run ended: forget its background state. Its diff version stays, so a follow-up
   * that changes nothing announces nothing.
   */
  drop(key: string): void {
    const state = this.records.get(key);
    if (state?.timer) clearTimeout(state.timer);
    this.records.delete(key);
  }

  /** The attempt is gone (its task deleted). */
  forget(key: string): void {
    this.drop(key);
    this.versions.delete(key);
    this.checkpoints.delete(key);
  }

  /**
   * The attempt's workspace was set back to the checkpoint `version` (a follow-up starts from it):
   * in a fleet the restored work goes to the store first (under the attempt's current fence, which
   * the node claiming the follow-up reads), then workspace.restored and the restored diff.
   */
  async restored(attempt: AttemptRef & { fence?: number }, workspace: Workspace, version: string, changedFiles: ChangedFile[], actor: string | null): Promise<void> {
    const { taskId, index, key } = attempt;
    if (this.deps.transfer) await this.deps.transfer.save({ key, fence: attempt.fence ?? 0 }, workspace);
    this.versions.set(key, version);
    this.checkpoints.set(key, version);
    await this.deps.events.setAttempt(taskId, index, { changedFiles }, {}, [
      { type: 'workspace.restored', checkpoint: version, actor },
      { type: 'diff.updated', changedFiles, diffVersion: version, checkpoint: true },
    ]);
  }

  /**
   * Refreshes the changed files and snapshots the work: a diff.updated when the files changed (as
   * soon as git names them) and one when the diff's version (known when a snapshot is taken)
   * changed. Also used after a restart for attempts that were interrupted.
   */
  async record(
    attempt: AttemptRef,
    workspace: Workspace,
    why: string,
    options: {
      skipSnapshot?: () => boolean;
      onRecorded?: (snapshot: string | null) => void;
      cause?: number;
      /**
       * A turn's end: its snapshot is a checkpoint unless the diff is the last checkpoint's, or
       * this says, once the view is read, that a later turn may have changed it already.
       */
      checkpoint?: boolean | (() => boolean);
    } = {},
  ): Promise<ChangedFile[]> {
    const { store, events } = this.deps;
    const { taskId, index, key, guard } = attempt;
    const cause = options.cause === undefined ? {} : { cause: options.cause };
    const announce = async (files: ChangedFile[], version: string | null, checkpoint: boolean): Promise<void> => {
      const newVersion = version !== null && this.versions.get(key) !== version;
      // Before any checkpoint of this attempt the base is the last state kept: a turn that leaves
      // the base (the empty diff) makes none. (After a restart the last one is not known: the
      // first turn's state counts as new even if it is the last one's.)
      const last = this.checkpoints.get(key);
      const newCheckpoint = checkpoint && version !== null && (last === undefined ? files.length > 0 : last !== version);
      if (version !== null) this.versions.set(key, version);
      if (newCheckpoint) this.checkpoints.set(key, version);
      const previous = (await store.getAttempts(taskId)).find((a) => a.index === index)?.changedFiles ?? [];
      if (!newVersion && !newCheckpoint && JSON.stringify(previous) === JSON.stringify(files)) return;
      const event = { type: 'diff.updated' as const, changedFiles: files, ...(version === null ? {} : { diffVersion: version }), ...(newCheckpoint ? { checkpoint: true } : {}), ...cause };
      await events.setAttempt(taskId, index, { changedFiles: files }, {}, [event], undefined, guard);
    };
    // A fleet node's disk is only a cache: a version is announced once its work is in the store.
    const transfer = guard && this.deps.transfer;
    let checkpoint = options.checkpoint === true || typeof options.checkpoint === 'function';
    const stillCheckpoint = typeof options.checkpoint === 'function' ? options.checkpoint : undefined;
    // Clients hear of the new files first (workspace.record gives them without a version as soon
    // as they are known); the version follows with the snapshot that keeps the work safe. A
    // checkpoint's is announced once its commit exists: a client may ask for it straight away.
    let announced: Promise<void> = Promise.resolve();
    let held: [ChangedFile[], string] | null = null;
    const { changedFiles, snapshot } = await workspace.record(why, {
      skipSnapshot: options.skipSnapshot,
      onRefreshed: stillCheckpoint && (() => (checkpoint = stillCheckpoint())),
      onChanges: (files, version) => {
        if ((transfer || checkpoint) && version !== null) held = [files, version];
        else announced = announced.then(() => announce(files, version, false)).catch(() => undefined); // awaited below
      },
    });
    await announced;
    if (snapshot !== null && transfer) await transfer.save(guard, workspace);
    if (held) {
      const [files, version] = held as [ChangedFile[], string];
      await announce(files, version, checkpoint && snapshot !== null);
    }
    options.onRecorded?.(snapshot);
    return changedFiles;
  }

  private state(key: string): RecordState {
    let state = this.records.get(key);
    // Like the later ones, the first snapshot comes a second after the first change at the
    // earliest (until then the work is in the view, where a restart finds it): a task shorter
    // than that takes one snapshot, at its end.
    if (!state) {
      state = { pending: false, done: null, changes: 0, recorded: 0, snapshotted: 0, snapshotAt: Date.now(), timer: null, cause: undefined, turnEnd: 0, checkpointed: 0, begun: 0, begunAtTurnEnd: 0 };
      this.records.set(key, state);
    }
    return state;
  }

  /**
   * Records in the background, one at a time per attempt; requests that arrive while one runs
   * fold into a single follow-up run, so a burst of edits costs at most two refreshes.
   */
  private schedule(attempt: AttemptRef, workspace: Workspace): void {
    const state = this.state(attempt.key);
    if (state.done) {
      state.pending = true;
      return;
    }
    state.done = (async () => {
      do {
        state.pending = false;
        const seen = state.changes;
        // The record of a turn's last change is its checkpoint: snapshotted now.
        const checkpoint = state.turnEnd > state.checkpointed && state.turnEnd <= seen;
        // ...if no later turn's change had begun when it read the view (else the next turn's covers it).
        const begunThen = state.begunAtTurnEnd;
        let inTime = true;
        const stillInTime = () => (inTime = state.begun === begunThen);
        // Else (or a checkpoint too late for its turn) a newer change already waiting, or a snapshot
        // less than SNAPSHOT_EVERY_MS old: this record only refreshes the changed files.
        const skipSnapshot = (): boolean => !(checkpoint && inTime) && (state.pending || Date.now() - state.snapshotAt < SNAPSHOT_EVERY_MS);
        const onRecorded = (snapshot: string | null) => {
          state.recorded = seen;
          if (snapshot === null) return;
          state.snapshotted = seen;
          state.snapshotAt = Date.now();
          if (checkpoint && inTime) state.checkpointed = seen;
        };
        await this.record(attempt, workspace, checkpoint ? 'end of turn' : 'after tool call', { skipSnapshot, onRecorded, checkpoint: checkpoint && stillInTime, cause: state.cause }).catch((err: unknown) =>
          this.deps.log.warn('could not refresh the diff', { taskId: attempt.taskId, err: err as Error }),
        );
      } while (state.pending);
      state.done = null;
      if (state.snapshotted < state.recorded && !state.timer && this.records.get(attempt.key) === state) {
        state.timer = setTimeout(() => {
          state.timer = null;
          if (this.records.get(attempt.key) === state) this.schedule(attempt, workspace);
        }, Math.max(0, state.snapshotAt + SNAPSHOT_EVERY_MS - Date.now()));
      }
    })();
  }
}
