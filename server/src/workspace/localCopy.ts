// A new commit of the user's local repository into its mirror, without `git fetch`. Over file://,
// fetch runs upload-pack, negotiates, packs, indexes and checks connectivity: the slowest step of
// the first task on a new commit once its base is built on the last one (bases.ts), ~150 ms of
// `npm run bench`'s cold start at load 10. When the mirror holds a commit the user's repository
// also has (the last one copied), the new objects are exactly `pack-objects --revs <new> --not
// <last>`: a thin pack that index-pack completes from the mirror. Two processes; anything out of
// the ordinary (no last commit, the user's repository no longer has it, a pack over 64 MB) is left
// to `git fetch`.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGit, type Host } from './git';
import { OBJECT_ID } from './repoFiles';
import { writeRef } from './taskGit';

function lastCopiedFile(mirrorDir: string): string {
  return join(mirrorDir, 'delegate-last-copied');
}

/** Notes the commit the mirror got last (by either way), for the next copy to build on. */
export async function noteCopied(mirrorDir: string, commit: string): Promise<void> {
  await writeFile(lastCopiedFile(mirrorDir), `${commit}\n`);
}

/** Copies `commit` from the repository at `top` into the mirror; false: fetch it instead. */
export async function copyCommit(opts: { host: Host; top: string; mirrorDir: string; commit: string; signal?: AbortSignal }): Promise<boolean> {
  const { host, top, mirrorDir, commit, signal } = opts;
  const last = (await readFile(lastCopiedFile(mirrorDir), 'utf8').catch(() => '')).trim();
  if (!OBJECT_ID.test(last) || !OBJECT_ID.test(commit)) return false;
  const pack = await runGit(['pack-objects', '--revs', '--thin', '--stdout', '-q'], {
    host,
    cwd: top,
    userRepo: true,
    input: `${commit}\n^${last}\n`,
    maxOutputBytes: 64 << 20,
    signal,
  });
  if (pack.code !== 0 || pack.truncated) return false;
  const indexed = await runGit(['index-pack', '--stdin', '--fix-thin'], { host, gitDir: mirrorDir, input: pack.stdout, signal });
  if (indexed.code !== 0) return false;
  await writeRef(mirrorDir, `refs/pins/${commit}`, commit);
  return true;
}
