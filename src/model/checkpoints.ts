// Checkpoints as the views show them: the diff states the server keeps, one per agent turn that
// changed files plus the final state (diff.updated with `checkpoint`). Pure (no `vscode`): the
// timeline folds events into checkpoint items here, and the panel's webview script, the quick pick
// and the commands describe them with the same words.
import type { Task } from '../../protocol/task';
import type { TimelineItem } from '../webview/messages';

export type CheckpointItem = Extract<TimelineItem, { kind: 'checkpoint' }>;
export type RestoredItem = Extract<TimelineItem, { kind: 'restored' }>;

const ACTIVE = ['queued', 'preparing', 'running', 'waiting_for_input'];

/** "turn 2", or "a checkpoint" when the turn is not known. */
export function turnName(turn: number | null): string {
  return turn === null ? 'a checkpoint' : `turn ${turn}`;
}

/** "Turn 2 · 1 file +3 −0": the marker's words. */
export function describeCheckpoint(item: CheckpointItem): string {
  const files = `${item.files} ${item.files === 1 ? 'file' : 'files'} +${item.additions} −${item.deletions}`;
  return `${item.turn === null ? 'Checkpoint' : `Turn ${item.turn}`} · ${files}`;
}

/** "Workspace set back to turn 2". */
export function describeRestored(item: RestoredItem): string {
  return `Workspace set back to ${turnName(item.turn)}`;
}

/**
 * Whether "Follow up from here" applies: not to the state the workspace is in already (the latest
 * checkpoint is a plain follow-up), not while the task runs (the server refuses), and only for the
 * attempt the task mirrors (a follow-up continues that one).
 */
export function canFollowUpFrom(item: CheckpointItem, task: Pick<Task, 'status' | 'selectedAttempt'>): boolean {
  return !item.current && !ACTIVE.includes(task.status) && canViewCheckpoint(item, task);
}

/** The server keeps the checkpoints of the attempt the task mirrors (best-of-N: the selected one). */
export function canViewCheckpoint(item: CheckpointItem, task: Pick<Task, 'selectedAttempt'>): boolean {
  return item.attempt === (task.selectedAttempt ?? 0);
}

/** The task's checkpoints, newest first (what a quick pick offers). */
export function checkpointsOf(items: readonly TimelineItem[]): CheckpointItem[] {
  return items.filter((i): i is CheckpointItem => i.kind === 'checkpoint').reverse();
}

/** What a checkpoint needs from the diff.updated that announces it. */
export interface CheckpointEvent {
  seq: number;
  attempt: number;
  version: string;
  /** The tool call's event seq (places it in a turn). */
  cause: number | undefined;
  changedFiles: readonly { additions: number; deletions: number }[];
}

/** Where a new checkpoint item goes, and which older one it replaces. */
export interface CheckpointPlacement {
  item: CheckpointItem;
  /** Insert right after this item (the turn's tool call); undefined: at the end. */
  afterId: string | undefined;
  /** The item of the same turn it supersedes (the turn's end state moved on), if any. */
  replaces: string | undefined;
}

/**
 * Per attempt: its model turns (the server reports usage once per model turn), the turn each tool
 * call was made in, and the diff state the workspace is in. Decides where checkpoints go.
 */
export class CheckpointBook {
  private readonly turns = new Map<number, number>();
  private readonly calls = new Map<number, { turn: number; itemId: string | undefined }>();
  private readonly versions = new Map<number, string | undefined>();

  noteTurn(attempt: number): void {
    this.turns.set(attempt, (this.turns.get(attempt) ?? 0) + 1);
  }

  /** A tool call (its event seq) in the attempt's current turn; `itemId`: its timeline item. */
  noteCall(seq: number, attempt: number, itemId: string | undefined): void {
    this.calls.set(seq, { turn: this.turns.get(attempt) ?? 0, itemId });
  }

  /** The diff state the attempt's workspace is in now (undefined: not named by the server). */
  noteVersion(attempt: number, version: string | undefined): void {
    this.versions.set(attempt, version);
  }

  current(attempt: number): string | undefined {
    return this.versions.get(attempt);
  }

  /**
   * The item for a checkpoint, or null when it adds nothing: the same state announced again
   * without a turn of its own (the final state, the state a restore set back to), or the base.
   */
  place(event: CheckpointEvent, items: readonly TimelineItem[]): CheckpointPlacement | null {
    const call = event.cause === undefined ? undefined : this.calls.get(event.cause);
    const mine = items.filter((i): i is CheckpointItem => i.kind === 'checkpoint' && i.attempt === event.attempt);
    if (!call && mine.some((i) => i.version === event.version)) return null;
    // A first "checkpoint" with no changes is the base itself (a command that changed nothing).
    if (event.changedFiles.length === 0 && mine.length === 0) return null;
    const counted = this.turns.get(event.attempt) ?? 0;
    const turn = call ? call.turn : counted;
    const sameTurn = turn > 0 ? mine.find((i) => i.turn === turn && !i.undone) : undefined;
    const item: CheckpointItem = {
      kind: 'checkpoint',
      id: `c${event.seq}`,
      version: event.version,
      turn: turn > 0 ? turn : null,
      files: event.changedFiles.length,
      additions: event.changedFiles.reduce((n, f) => n + f.additions, 0),
      deletions: event.changedFiles.reduce((n, f) => n + f.deletions, 0),
      current: false,
      undone: false,
      attempt: event.attempt,
    };
    const afterId = call?.itemId !== undefined && items.some((i) => i.id === call.itemId) ? call.itemId : undefined;
    return { item, afterId, replaces: sameTurn?.id };
  }

  /** The turn of the attempt's latest checkpoint at `version` (null when unknown). */
  turnOf(version: string, attempt: number, items: readonly TimelineItem[]): number | null {
    const found = [...items].reverse().find((i) => i.kind === 'checkpoint' && i.attempt === attempt && i.version === version);
    return found?.kind === 'checkpoint' ? found.turn : null;
  }
}

/**
 * A restore to `version` undoes, in the attempt's workspace, every checkpoint that came after it
 * (and puts back those before it that an earlier restore had undone). Items after `restoredId`
 * (none yet, it was just added) are not touched. True when a flag changed.
 */
export function markUndone(items: TimelineItem[], attempt: number, version: string, restoredId: string): boolean {
  const end = items.findIndex((i) => i.id === restoredId);
  const before = (end < 0 ? items : items.slice(0, end)).filter((i): i is CheckpointItem => i.kind === 'checkpoint' && i.attempt === attempt);
  let target = -1;
  before.forEach((i, n) => {
    if (i.version === version) target = n;
  });
  if (target < 0) return false;
  let changed = false;
  before.forEach((i, n) => {
    const undone = n > target;
    if (i.undone !== undone) {
      i.undone = undone;
      changed = true;
    }
  });
  return changed;
}

/** Marks the attempt's checkpoint at the workspace's current state. True when a flag changed. */
export function markCurrent(items: TimelineItem[], attempt: number, version: string | undefined): boolean {
  let changed = false;
  for (const i of items) {
    if (i.kind !== 'checkpoint' || i.attempt !== attempt) continue;
    const current = version !== undefined && i.version === version;
    if (i.current !== current) {
      i.current = current;
      changed = true;
    }
  }
  return changed;
}
