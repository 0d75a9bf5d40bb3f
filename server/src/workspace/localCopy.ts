// A new commit of the user's local repository into its mirror, without `git fetch`. Over file://,
// fetch runs upload-pack, negotiates, packs, indexes and checks connectivity: the slowest step of
// the first task on a new commit once its base is built on the last one (bases.ts). When the
// mirror holds a commit the user's repository also has (the last one copied), the new objects are
// exactly `pack-objects --revs <new> --not <last>`, and git writes that pack and its index straight
// into the mirror's pack directory (one process; a thin pack on stdout would need a second,
// index-pack, to complete it). Anything out of the ordinary (no last commit, the user's repository
// no longer has it) is left to `git fetch`.
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
  // git names the files pack-<hash>.{pack,idx} and renames each into place when it is whole (the
  // index last: a pack is seen only once its index is there).
  const pack = await runGit(['pack-objects', '--revs', '-q', join(mirrorDir, 'objects', 'pack', 'pack')], {
    host,
    cwd: top,
    userRepo: true,
    input: `${commit}\n^${last}\n`,
    signal,
  });
  if (pack.code !== 0) return false;
  await writeRef(mirrorDir, `refs/pins/${commit}`, commit);
  return true;
}
