// The task's copy-on-write view of the repository. 'overlay': the commit's shared base (bases.ts,
// owned by the sandbox uid) under a kernel overlay whose upper layer lives on a per-task tmpfs sized
// to the disk cap. 'checkout': a plain checkout when mounting is not possible.
import { chown, copyFile, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { firstLine, runGit, type Host } from './git';
import { parseMountInfo } from './parse';
import { MNT_DETACH, MS_NODEV, MS_NOSUID, type ProcessRunner } from '../util/processRunner';

export interface ViewPaths {
  /** The view itself (overlay mount point, or the checkout). */
  dir: string;
  /** tmpfs mount point holding the overlay's upper and work dirs. */
  scratch: string;
}

export function viewPaths(taskDir: string): ViewPaths {
  return { dir: join(taskDir, 'view'), scratch: join(taskDir, 'scratch') };
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Where mount(8) and umount(8) are: the system's own directories, never the server's PATH. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs a system command (mount, umount); failure is a value. */
export function run(runner: ProcessRunner, cmd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    runner.run(
      { argv: [cmd, ...args], cwd: '/', env: { PATH: SYSTEM_PATH, LANG: 'C' } },
      {
        stderr: (chunk) => (stderr += chunk.toString('utf8')),
        end: ({ code, failure }) => resolve({ code, stderr: failure ?? stderr }),
      },
    );
  });
}

export async function mountedFsType(path: string): Promise<string | null> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const entries = parseMountInfo(text).filter((e) => e.mountPoint === path);
  return entries.at(-1)?.fsType ?? null;
}

/**
 * Checks `tree` out into `dest` with a fresh index file that records the files' stat data, as the
 * sandbox user so the files are theirs without a chown pass. The index lives in a directory that
 * user can write; the caller moves it where it belongs.
 */
export async function checkoutTree(opts: { host: Host; gitDir: string; tree: string; dest: string; scratchDir: string; uid: number; background?: boolean; signal?: AbortSignal }): Promise<string> {
  const { host, gitDir, tree, dest, scratchDir, uid, background, signal } = opts;
  await mkdir(dest, { recursive: true });
  await mkdir(scratchDir, { recursive: true });
  if (isRoot()) {
    await chown(dest, uid, uid);
    await chown(scratchDir, uid, uid);
  }
  const indexFile = join(scratchDir, 'index');
  const r1 = await runGit(['read-tree', tree], { host, gitDir, indexFile, asUid: uid, background, signal });
  if (r1.code !== 0) throw new Error(`read-tree ${tree} failed: ${firstLine(r1.stderr)}`);
  const r2 = await runGit(['checkout-index', '-a', '-f', '-q', '-u'], { host, gitDir, workTree: dest, indexFile, asUid: uid, background, signal });
  if (r2.code !== 0) throw new Error(`checkout of ${tree} failed: ${firstLine(r2.stderr)}`);
  return indexFile;
}

/**
 * Mounts tmpfs (size = disk cap) + overlay over the base's layers (top first). Returns an error
 * message on failure.
 */
export async function mountOverlay(opts: { runner: ProcessRunner; paths: ViewPaths; layers: string[]; diskBytes: number; uid: number }): Promise<string | null> {
  const { runner, paths, layers, diskBytes, uid } = opts;
  if (!isRoot()) return 'not running as root';
  if (/[,:\s\\]/.test(layers.join('') + paths.scratch)) return 'data dir path has characters overlay options cannot carry';
  await mkdir(paths.dir, { recursive: true });
  await mkdir(paths.scratch, { recursive: true });
  const size = Math.max(1 << 20, Math.floor(diskBytes));
  const upper = join(paths.scratch, 'upper');
  const work = join(paths.scratch, 'work');
  // mount(2) through the launcher where it can (no process), else mount(8). The upper root
  // becomes the view's root: the sandbox user must own it.
  const tmpfs = await mountFs(runner, 'tmpfs', paths.scratch, 'tmpfs', MS_NOSUID | MS_NODEV, `size=${size},mode=0755`);
  if (tmpfs) return `tmpfs mount failed: ${tmpfs}`;
  try {
    await mkdir(upper);
    await mkdir(work);
    await chown(upper, uid, uid);
  } catch (err) {
    await unmount(runner, paths.scratch);
    return `preparing the upper dir failed: ${(err as Error).message}`;
  }
  const overlay = await mountFs(runner, 'overlay', paths.dir, 'overlay', MS_NOSUID | MS_NODEV, `lowerdir=${layers.join(':')},upperdir=${upper},workdir=${work}`);
  if (!overlay) return null;
  await unmount(runner, paths.scratch);
  return `overlay mount failed: ${overlay}`;
}

/** An overlay of `lower` (top first) with its writes in `upper` (on disk), at `target`; null when done. */
export async function mountLayers(opts: { runner: ProcessRunner; target: string; lower: string[]; upper: string; work: string }): Promise<string | null> {
  if (!isRoot()) return 'not running as root';
  if (/[,:\s\\]/.test(opts.lower.join('') + opts.upper + opts.work)) return 'data dir path has characters overlay options cannot carry';
  return mountFs(opts.runner, 'overlay', opts.target, 'overlay', MS_NOSUID | MS_NODEV, `lowerdir=${opts.lower.join(':')},upperdir=${opts.upper},workdir=${opts.work}`);
}

/** Mounts; null when done, else why not. */
async function mountFs(runner: ProcessRunner, source: string, target: string, fstype: string, flags: number, data: string): Promise<string | null> {
  const direct = await runner.mount(source, target, fstype, flags, data);
  if (direct) return direct.ok ? null : direct.reason;
  const options = [data, flags & MS_NOSUID ? 'nosuid' : '', flags & MS_NODEV ? 'nodev' : ''].filter(Boolean).join(',');
  const r = await run(runner, 'mount', ['-t', fstype, '-o', options, source, target]);
  return r.code === 0 ? null : firstLine(r.stderr) || `exit ${r.code}`;
}

/** Unmounts if mounted; lazily when busy (a sandbox still holding it). */
export async function unmount(runner: ProcessRunner, path: string): Promise<void> {
  for (let i = 0; i < 4 && (await mountedFsType(path)); i++) {
    const direct = await runner.umount(path, 0);
    if (direct?.ok) continue;
    if (direct) {
      await runner.umount(path, MNT_DETACH);
      continue;
    }
    const r = await run(runner, 'umount', [path]);
    if (r.code !== 0) await run(runner, 'umount', ['-l', path]);
  }
}

export async function unmountView(runner: ProcessRunner, paths: ViewPaths): Promise<void> {
  await unmount(runner, paths.dir);
  await unmount(runner, paths.scratch);
}

export async function isOverlayMounted(paths: ViewPaths): Promise<boolean> {
  return (await mountedFsType(paths.dir)) === 'overlay' && (await mountedFsType(paths.scratch)) === 'tmpfs';
}

/**
 * Brings a fresh view (base tree of `from` + index `index`) to `to`, as `git checkout` would:
 * changed files written, deleted ones removed. Written as the sandbox user so files are theirs.
 */
export async function switchView(opts: { host: Host; gitDir: string; dir: string; index: string; from: string; to: string; scratchDir: string; uid: number }): Promise<void> {
  if (opts.from === opts.to) return;
  await mkdir(opts.scratchDir, { recursive: true });
  if (isRoot()) await chown(opts.scratchDir, opts.uid, opts.uid);
  const tmpIndex = join(opts.scratchDir, 'index');
  await copyFile(opts.index, tmpIndex);
  if (isRoot()) await chown(tmpIndex, opts.uid, opts.uid);
  const r = await runGit(['read-tree', '-m', '-u', opts.from, opts.to], { host: opts.host, gitDir: opts.gitDir, workTree: opts.dir, indexFile: tmpIndex, asUid: opts.uid });
  if (r.code !== 0) throw new Error(`restoring the workspace failed: ${firstLine(r.stderr)}`);
  await rename(tmpIndex, opts.index);
}
