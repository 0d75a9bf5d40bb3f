// What a server that died without cleaning up (kill -9, power loss, OOM) left in DATA/tasks and
// DATA/bases: task views still mounted, half-prepared task directories, git locks of a snapshot
// cut short, half-built bases. The next server releases all of it before it serves; a task's work
// survives as a snapshot (its git dir is on disk, the live view's changes are recorded first).
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessRunner } from '../util/processRunner';
import { parseMountInfo } from './parse';
import type { Workspace } from './types';
import { isOverlayMounted, unmount, unmountView, viewPaths } from './view';
import { readState, type WorkspaceState } from './workspace';
import type { Logger } from '../log';

export interface LeftoverDeps {
  dataDir: string;
  /** Unmounts what a stopped server left mounted. */
  runner: ProcessRunner;
  /** A workspace over a task dir with the given state (the manager's instance()). */
  instance: (taskDir: string, state: WorkspaceState) => Workspace;
  log: Logger;
}

/** Lock files git leaves when it is killed mid-write; no other process may hold them now. */
const GIT_LOCKS = ['delegate-index.lock', 'index.lock', 'HEAD.lock', 'packed-refs.lock', 'config.lock'];

/** Mount points at or below `dir`, deepest first (the order they must be unmounted in). */
export async function mountsBelow(dir: string): Promise<string[]> {
  const all = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint);
  return [...new Set(all.filter((m) => m === dir || m.startsWith(`${dir}/`)))].sort((a, b) => b.length - a.length);
}

/**
 * Releases everything under DATA/tasks and DATA/bases that no live process owns. Must run before
 * anything else uses the data dir (a view being prepared would look like a leftover).
 */
export async function releaseLeftovers(deps: LeftoverDeps): Promise<{ recorded: number; removed: number; unmounted: number }> {
  const tasks = join(deps.dataDir, 'tasks');
  let recorded = 0;
  let removed = 0;
  for (const key of await readdir(tasks).catch(() => [] as string[])) {
    const taskDir = join(tasks, key);
    const state = await readState(taskDir);
    if (!state) {
      // A prepare that never finished: nothing in it is the user's or the agent's work yet.
      await unmountView(deps.runner, viewPaths(taskDir));
      await Promise.all((await mountsBelow(taskDir)).map((m) => unmount(deps.runner, m)));
      await rm(taskDir, { recursive: true, force: true });
      removed++;
      continue;
    }
    await removeGitLocks(join(taskDir, 'git'));
    if (state.mode === 'overlay' && (await isOverlayMounted(viewPaths(taskDir)))) {
      // The view's latest changes live only on its tmpfs: record them, then unmount (close()).
      try {
        await deps.instance(taskDir, { ...state, closed: false }).close();
        recorded++;
      } catch (err) {
        deps.log.error('could not record a workspace left mounted by a stopped server; its last snapshot stays', { key, err: err as Error });
      }
    }
  }
  // Whatever is still mounted below tasks/ (a close that failed, a mount nothing records).
  const stale = await mountsBelow(tasks);
  for (const m of stale) await unmount(deps.runner, m);
  await removeHalfBuiltBases(join(deps.dataDir, 'bases'));
  const tmp = join(deps.dataDir, 'tmp');
  for (const name of await readdir(tmp).catch(() => [] as string[])) await rm(join(tmp, name), { recursive: true, force: true });
  return { recorded, removed, unmounted: stale.length };
}

async function removeGitLocks(gitDir: string): Promise<void> {
  await Promise.all(GIT_LOCKS.map((name) => rm(join(gitDir, name), { force: true })));
  const refs = join(gitDir, 'refs', 'delegate');
  for (const name of await readdir(refs).catch(() => [] as string[])) {
    if (name.endsWith('.lock') || name.endsWith('.tmp')) await rm(join(refs, name), { force: true });
  }
}

/** ensureBase() builds in `.tmp-*` and renames into place: a `.tmp-*` left is a build cut short. */
async function removeHalfBuiltBases(bases: string): Promise<void> {
  for (const name of await readdir(bases).catch(() => [] as string[])) {
    if (name.startsWith('.tmp-')) await rm(join(bases, name), { recursive: true, force: true });
  }
}
