// Per-hunk review decisions, persisted per workspace. A hunk is addressed by its index in the task's
// diff; a fingerprint of its lines makes a decision lapse when a follow-up changes that hunk.
//
// Default: a hunk nobody decided on is "undecided" and is taken like an accepted one when applying
// or opening a pull request (the user reviews by exception); the views show it as undecided and
// Apply / Pull Request say that it counts as accepted.
import type { DiffHunk, FileDiff } from '../../protocol';
import { Signal, type Disposable } from '../util/signal';

export type Decision = 'accepted' | 'rejected' | 'undecided';

/** The subset of vscode.Memento the review needs. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

interface StoredDecision {
  d: 'accepted' | 'rejected';
  fp: string;
}
type StoredTask = Record<string, Record<string, StoredDecision>>;

export interface ReviewCounts {
  total: number;
  accepted: number;
  rejected: number;
  undecided: number;
}

export class ReviewState implements Disposable {
  private readonly changed = new Signal<string>();
  /** Fired with the task id whenever a decision changes. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly store: KeyValueStore) {}

  decision(taskId: string, path: string, index: number, hunk: DiffHunk): Decision {
    const forFile = this.read(taskId)[path];
    const fp = fingerprint(hunk);
    const stored = forFile?.[String(index)];
    if (stored && stored.fp === fp) return stored.d;
    // The diff moved (a follow-up, a later snapshot): a hunk whose lines are unchanged keeps its
    // decision at its new place, as long as it is the only one with those lines.
    const same = Object.values(forFile ?? {}).filter((d) => d.fp === fp);
    return same.length === 1 ? same[0]!.d : 'undecided';
  }

  decisions(taskId: string, file: FileDiff): Decision[] {
    return file.hunks.map((h, i) => this.decision(taskId, file.path, i, h));
  }

  async set(taskId: string, file: FileDiff, indexes: readonly number[], decision: Decision): Promise<void> {
    const all = this.read(taskId);
    const forFile = { ...(all[file.path] ?? {}) };
    // New and deleted files can only be taken whole (a partial one has no sensible result).
    const whole = file.status === 'added' || file.status === 'deleted';
    const targets = whole ? file.hunks.map((_, i) => i) : indexes;
    for (const index of targets) {
      const hunk = file.hunks[index];
      if (!hunk) throw new RangeError(`${file.path} has no hunk ${index}`);
      // A decision that moved with its hunk (see decision()) is replaced, not left behind.
      const fp = fingerprint(hunk);
      for (const [at, d] of Object.entries(forFile)) if (d.fp === fp) delete forFile[at];
      if (decision === 'undecided') delete forFile[String(index)];
      else forFile[String(index)] = { d: decision, fp: fingerprint(hunk) };
    }
    await this.store.update(key(taskId), { ...all, [file.path]: forFile });
    this.changed.fire(taskId);
  }

  counts(taskId: string, files: readonly FileDiff[]): ReviewCounts {
    const counts: ReviewCounts = { total: 0, accepted: 0, rejected: 0, undecided: 0 };
    for (const file of files) {
      for (const d of this.decisions(taskId, file)) {
        counts.total++;
        counts[d]++;
      }
    }
    return counts;
  }

  /** The hunks to take: everything not rejected. */
  taken(taskId: string, file: FileDiff): number[] {
    return this.decisions(taskId, file).flatMap((d, i) => (d === 'rejected' ? [] : [i]));
  }

  async forget(taskId: string): Promise<void> {
    await this.store.update(key(taskId), undefined);
    this.changed.fire(taskId);
  }

  dispose(): void {
    this.changed.dispose();
  }

  private read(taskId: string): StoredTask {
    return this.store.get<StoredTask>(key(taskId)) ?? {};
  }
}

/**
 * The review in a few words, each hunk as what the user decided: "3 hunks: 1 accepted, 1
 * rejected, 1 undecided", "2 hunks, all undecided". That undecided hunks are taken like accepted
 * ones is said where it matters: when applying and before a pull request.
 */
export function describeCounts(c: ReviewCounts): string {
  if (c.total === 0) return 'no hunks';
  const hunks = `${c.total} hunk${c.total === 1 ? '' : 's'}`;
  const parts = (['accepted', 'rejected', 'undecided'] as const).filter((k) => c[k] > 0);
  if (parts.length === 1) return `${hunks}, ${c.total === 1 ? '' : 'all '}${parts[0]}`;
  return `${hunks}: ${parts.map((k) => `${c[k]} ${k}`).join(', ')}`;
}

/** How one hunk's decision reads above it in the review diff. */
export function describeDecision(decision: Decision): string {
  return decision === 'undecided' ? 'undecided (taken unless rejected)' : decision;
}

/** "2 undecided hunks count as accepted." when there are any; '' otherwise. */
export function undecidedNote(c: ReviewCounts): string {
  if (c.undecided === 0) return '';
  return `${c.undecided} undecided hunk${c.undecided === 1 ? '' : 's'} ${c.undecided === 1 ? 'counts' : 'count'} as accepted.`;
}

function key(taskId: string): string {
  return `delegate.review.${taskId}`;
}

/** FNV-1a over the hunk's lines: cheap and stable across sessions. */
export function fingerprint(hunk: DiffHunk): string {
  let h = 0x811c9dc5;
  const text = hunk.lines.join('\n');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}
