// Per-hunk review decisions, persisted per workspace. A hunk is addressed by its index in the task's
// diff; a fingerprint of its lines makes a decision lapse when a follow-up changes that hunk.
//
// Default: a hunk nobody decided on is "undecided" and counts as accepted when applying or opening
// a pull request — the user reviews by exception and rejects what they do not want.
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
    const stored = this.read(taskId)[path]?.[String(index)];
    return stored && stored.fp === fingerprint(hunk) ? stored.d : 'undecided';
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
 * The review in a few words. Undecided hunks are applied like accepted ones, so they count as
 * accepted here: "2 hunks: 1 accepted, 1 rejected", "2 hunks, none rejected" — never "0/2
 * accepted", which reads as if nothing would be applied.
 */
export function describeCounts(c: ReviewCounts): string {
  const hunks = `${c.total} hunk${c.total === 1 ? '' : 's'}`;
  if (c.rejected === 0) return `${hunks}, none rejected`;
  if (c.rejected === c.total) return `${hunks}, ${c.total === 1 ? 'rejected' : 'all rejected'}`;
  return `${hunks}: ${c.total - c.rejected} accepted, ${c.rejected} rejected`;
}

/** How one hunk's decision reads above it in the review diff. */
export function describeDecision(decision: Decision): string {
  return decision === 'undecided' ? 'not reviewed, will be applied' : decision;
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
