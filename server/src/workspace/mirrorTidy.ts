// A mirror gets a pack for every new commit copied into it (localCopy.ts) or fetched
// (fetch.unpackLimit 1), and every task's git dir hardlinks all of them (taskGit.ts). With hundreds
// of packs each task start links hundreds of files, and every git process on the mirror or a task
// looks through hundreds of pack indexes (measured here: with 600 packs `diff-tree` and `read-tree`
// of a 5,000-file tree took ~20 % longer than with one). Past MAX_PACKS packs the small ones are
// rolled into one, in the background: `git repack --geometric=2 -d` keeps a few packs, each at
// least twice the size of the next, and drops no object (the pins keep every commit anyway).
// Readers are safe meanwhile: git looks for an object again in the new pack when an old one goes,
// and createTaskGitDir lists the packs again when one vanished while it linked them.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLine, runGit, type Host } from './git';

/** Packs in a mirror beyond which its small ones are rolled up (git's own gc.autoPackLimit). */
export const MAX_PACKS = 50;

export async function packCount(gitDir: string): Promise<number> {
  const names = await readdir(join(gitDir, 'objects', 'pack')).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith('.pack')).length;
}

/** Rolls up a mirror's small packs when it has more than `max`; true when it did. */
export async function tidyMirror(host: Host, mirrorDir: string, options: { max?: number; signal?: AbortSignal } = {}): Promise<boolean> {
  if ((await packCount(mirrorDir)) <= (options.max ?? MAX_PACKS)) return false;
  const r = await runGit(['repack', '-d', '-q', '--geometric=2'], { host, gitDir: mirrorDir, signal: options.signal });
  if (r.code !== 0) throw new Error(`repacking ${mirrorDir} failed: ${firstLine(r.stderr)}`);
  return true;
}
