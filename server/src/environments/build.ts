// Builds a set-up layer: the environment's setup script runs in a sandbox of its own over a view of
// the commit's base whose writes go to a directory on disk (an overlay upper dir beside the cache,
// not the task's tmpfs), so that directory, renamed into the cache, is the layer, with the inode
// and times the index recorded. The setup's tracked changes and new files git sees (not what the
// repository ignores, like node_modules) become the set-up tree, which the task's diff is taken
// against. Secrets reach the setup command's environment only; a layer that holds one is refused.
import { chown, copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { git, runGit, firstLine, type Host } from '../workspace/git';
import { createTaskGitDir, writeRef } from '../workspace/taskGit';
import { mountLayers, unmount } from '../workspace/view';
import { DEFAULT_LIMITS, type SandboxDriver } from '../sandbox/types';
import type { Environment } from './resolve';

/** A setup script runs this long at most. */
export const SETUP_TIMEOUT_MS = 20 * 60_000;

export interface BuildRequest {
  /** From LayerCache.temp(): everything is made inside it. */
  tmp: string;
  environment: Environment;
  /** The docker image (undefined: the driver's). */
  image: string | undefined;
  commit: string;
  /** The commit's tree (the set-up tree equals it when setup changed nothing git sees). */
  commitTree: string;
  mirrorDir: string;
  baseLayers: string[];
  baseIndex: string;
  host: Host;
  uid: number;
  driver: SandboxDriver;
  /** The secrets this environment asks for, by name. */
  secrets: Record<string, string>;
  signal?: AbortSignal;
  onOutput: (chunk: string) => void;
}

export type BuildResult =
  | { ok: true; tree: string; commit: string | null; exitCode: 0 }
  | { ok: false; message: string; exitCode: number | null };

export async function buildLayer(req: BuildRequest): Promise<BuildResult> {
  const { tmp, uid } = req;
  const upper = join(tmp, 'upper');
  const view = join(tmp, 'view');
  const gitDir = join(tmp, 'git');
  await Promise.all([mkdir(upper), mkdir(join(tmp, 'work')), mkdir(view), mkdir(join(tmp, 'pack'))]);
  if (process.getuid?.() === 0) await chown(upper, uid, uid); // the view's root is the sandbox user's
  await createTaskGitDir(req.host, gitDir, req.mirrorDir, req.commit);
  const index = join(gitDir, 'index');
  await Promise.all([copyFile(req.baseIndex, index), writeRef(gitDir, 'refs/heads/delegate', req.commit)]);
  const mounted = await mountLayers({ runner: req.host.runner, target: view, lower: req.baseLayers, upper, work: join(tmp, 'work') });
  if (mounted) throw new Error(`mounting the setup's view failed: ${mounted}`);
  try {
    const ran = await runScript(req, view, gitDir);
    if (!ran.ok) return ran;
    const leaked = await findSecrets(upper, Object.values(req.secrets));
    if (leaked.length > 0) {
      return { ok: false, exitCode: 0, message: `the setup wrote a setup secret into ${leaked.slice(0, 5).join(', ')}: secrets must not be written to files (the result is shared by every task on this commit)` };
    }
    // Setup's changes as git sees them (ignored files stay out), stat data as the view shows them.
    const added = await runGit(['add', '-A'], { host: req.host, gitDir, workTree: view, indexFile: index, signal: req.signal });
    if (added.code !== 0) throw new Error(`recording the setup's changes failed: ${firstLine(added.stderr)}`);
    const tree = await git(['write-tree'], { host: req.host, gitDir, indexFile: index });
    const commit = tree === req.commitTree ? null : await packNewObjects(req, gitDir, tree);
    return { ok: true, tree, commit, exitCode: 0 };
  } finally {
    await unmount(req.host.runner, view);
  }
}

/** After a successful build: the temp dir holds layer/, index and pack/ only; its size in bytes. */
export async function settleLayer(tmp: string): Promise<number> {
  await rename(join(tmp, 'upper'), join(tmp, 'layer'));
  await rename(join(tmp, 'git', 'index'), join(tmp, 'index'));
  // The mount point a sandbox made for the git dir: nothing of the setup's.
  await rmdir(join(tmp, 'layer', '.git')).catch(() => undefined);
  await Promise.all(['work', 'view', 'git'].map((d) => rm(join(tmp, d), { recursive: true, force: true })));
  return diskUsage(tmp);
}

async function runScript(req: BuildRequest, view: string, gitDir: string): Promise<BuildResult> {
  const { spec } = req.environment;
  const sandbox = await req.driver.create({
    id: `setup-${Date.now().toString(36)}`,
    workspaceDir: view,
    gitDir,
    limits: DEFAULT_LIMITS,
    network: spec.network === true,
    ...(req.image ? { image: req.image } : {}),
  });
  try {
    const result = await sandbox.exec(spec.setup, {
      env: { ...spec.env, ...req.secrets },
      timeoutMs: SETUP_TIMEOUT_MS,
      signal: req.signal,
      onStdout: req.onOutput,
      onStderr: req.onOutput,
    });
    req.signal?.throwIfAborted();
    if (result.sandboxError) return { ok: false, exitCode: null, message: `the setup script could not run: ${result.sandboxError}` };
    if (result.exitCode !== 0) {
      const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
      return { ok: false, exitCode: result.exitCode, message: `the setup script ${why}: ${(result.stderr || result.stdout).slice(-2000)}` };
    }
    return { ok: true, tree: '', commit: null, exitCode: 0 };
  } finally {
    await sandbox.dispose();
  }
}

/**
 * The objects of `tree` the commit lacks and a commit of it on the user's, as one pack in tmp/pack
 * (hardlinked into each task's git dir); that commit.
 */
async function packNewObjects(req: BuildRequest, gitDir: string, tree: string): Promise<string> {
  const commit = await git(['commit-tree', tree, '-p', req.commit, '-m', 'Environment set up by Delegate'], { host: req.host, gitDir });
  const packed = await runGit(['pack-objects', '--revs', '-q', join(req.tmp, 'pack', 'setup')], { host: req.host, gitDir, input: `${commit}\n^${req.commit}\n` });
  if (packed.code !== 0) throw new Error(`packing the setup's objects failed: ${firstLine(packed.stderr)}`);
  return commit;
}

/** Paths under `dir` whose content holds one of `secrets` (never followed: links, devices). */
export async function findSecrets(dir: string, secrets: string[]): Promise<string[]> {
  const needles = secrets.filter((s) => s.length >= 4).map((s) => Buffer.from(s));
  if (needles.length === 0) return [];
  const found: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) {
        const target = await readlink(join(dir, path)).catch(() => '');
        if (needles.some((n) => target.includes(n.toString()))) found.push(path);
      } else if (entry.isFile()) {
        const st = await lstat(join(dir, path));
        if (st.size === 0) continue;
        const data = await readFile(join(dir, path));
        if (needles.some((n) => data.includes(n))) found.push(path);
      }
    }
  };
  await walk('');
  return found;
}

/** Bytes `dir` takes on disk (allocated blocks; hard links once). */
async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<bigint>();
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    const st = await lstat(path, { bigint: true }).catch(() => null);
    if (!st || seen.has(st.ino)) return;
    seen.add(st.ino);
    bytes += Number(st.blocks) * 512;
    if (st.isDirectory()) for (const name of await readdir(path).catch(() => [] as string[])) await walk(join(path, name));
  };
  await walk(dir);
  return bytes;
}
