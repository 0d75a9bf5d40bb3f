// What "Apply to workspace" will do, decided before anything is touched: the taken hunks of each
// file applied onto the user's CURRENT text. A file whose text no longer matches a hunk's context
// is a conflict; the caller reports it and applies nothing unless the user says "apply the rest".
import { applyHunks, type FileDiff } from '../../protocol';

export type FileAction =
  | { kind: 'modify'; path: string; text: string; hunks: number }
  | { kind: 'create'; path: string; text: string; hunks: number }
  | { kind: 'delete'; path: string; hunks: number }
  | { kind: 'rename'; from: string; path: string; text: string; hunks: number }
  /** Binary content cannot be merged: the caller replaces the file if it still equals the base. */
  | { kind: 'binary'; path: string; oldPath: string | null; status: FileDiff['status'] };

export interface Conflict {
  path: string;
  reason: string;
}

export interface ApplyPlan {
  actions: FileAction[];
  conflicts: Conflict[];
}

/** Reads the user's current text of a repository-relative path; null when the file does not exist. */
export type ReadCurrent = (path: string) => Promise<string | null>;

export async function planApply(
  files: readonly FileDiff[],
  taken: (file: FileDiff) => number[],
  readCurrent: ReadCurrent,
): Promise<ApplyPlan> {
  const actions: FileAction[] = [];
  const conflicts: Conflict[] = [];
  for (const file of files) {
    const indexes = taken(file);
    if (indexes.length === 0 && !(file.status === 'renamed' && file.hunks.length === 0)) continue;
    if (file.binary) {
      actions.push({ kind: 'binary', path: file.path, oldPath: file.oldPath, status: file.status });
      continue;
    }
    const hunks = indexes.map((i) => file.hunks[i]!).filter(Boolean);
    const outcome = await planFile(file, hunks, readCurrent);
    if (outcome === 'nothing') continue;
    if ('reason' in outcome) conflicts.push(outcome);
    else actions.push(outcome);
  }
  return { actions, conflicts };
}

async function planFile(
  file: FileDiff,
  hunks: FileDiff['hunks'],
  readCurrent: ReadCurrent,
): Promise<FileAction | Conflict | 'nothing'> {
  const path = file.path;
  switch (file.status) {
    case 'added': {
      const text = applyHunks('', hunks);
      if (text === null) return { path, reason: 'the diff of this new file is malformed' };
      const current = await readCurrent(path);
      if (current === text) return 'nothing';
      if (current !== null) return { path, reason: 'a different file already exists at this path' };
      return { kind: 'create', path, text, hunks: hunks.length };
    }
    case 'deleted': {
      const current = await readCurrent(path);
      if (current === null) return 'nothing';
      if (applyHunks(current, hunks) !== '') return { path, reason: 'the file changed since the task started' };
      return { kind: 'delete', path, hunks: hunks.length };
    }
    case 'modified': {
      const current = await readCurrent(path);
      if (current === null) return { path, reason: 'the file no longer exists' };
      const text = applyHunks(current, hunks);
      if (text === null) return { path, reason: 'the file changed where the agent changed it' };
      return { kind: 'modify', path, text, hunks: hunks.length };
    }
    case 'renamed': {
      const from = file.oldPath ?? path;
      const current = await readCurrent(from);
      if (current === null) return { path: from, reason: 'the file to rename no longer exists' };
      if ((await readCurrent(path)) !== null) return { path, reason: 'a file already exists at the new path' };
      const text = applyHunks(current, hunks);
      if (text === null) return { path: from, reason: 'the file changed where the agent changed it' };
      return { kind: 'rename', from, path, text, hunks: hunks.length };
    }
    default: {
      const unreachable: never = file.status;
      return unreachable;
    }
  }
}

export function summarizePlan(plan: ApplyPlan): string {
  const count = (kind: FileAction['kind']) => plan.actions.filter((a) => a.kind === kind).length;
  const hunks = plan.actions.reduce((n, a) => n + ('hunks' in a ? a.hunks : 0), 0);
  const parts = [`${hunks} hunk${hunks === 1 ? '' : 's'} in ${plan.actions.length} file${plan.actions.length === 1 ? '' : 's'}`];
  const details = [
    [count('create'), 'created'],
    [count('delete'), 'deleted'],
    [count('rename'), 'renamed'],
    [count('binary'), 'binary replaced'],
  ] as const;
  const extra = details.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return extra.length ? `${parts[0]} (${extra.join(', ')})` : parts[0]!;
}
