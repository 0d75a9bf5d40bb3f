// Host-side file access for the agent's tools, confined to the workspace. The sandbox may be
// running while we look, so paths are walked one component at a time through open directory
// handles (`/proc/self/fd/N/name` acts as openat with O_NOFOLLOW): a directory swapped for a
// symlink between a check and a use cannot redirect us outside.
import { constants as C, type Stats } from 'node:fs';
import { lchown, lstat, mkdir, open, readlink, unlink, type FileHandle } from 'node:fs/promises';
import { runGit, firstLine, type Host } from './git';
import { directChildren, parseGrep, parseLsFiles, pathspec, splitRelativePath } from './parse';
import { WorkspacePathError, type ConfinedFiles, type ListOptions, type SearchMatch, type SearchOptions } from './types';

export interface ConfinedFilesOptions {
  host: Host;
  root: string;
  uid: number;
  gitDir: string;
  indexFile: string;
  /** Throws when the workspace can no longer be used (closed or destroyed). */
  checkOpen: () => void;
  /**
   * When given and cheap (overlay views): brings the index up to date with the view, so that a
   * listing reads the index alone instead of checking every file and directory of the view.
   */
  refreshIndex?: () => Promise<void>;
}

interface Walk {
  /** Directory that holds the final component. */
  dir: FileHandle;
  /** Final component (null: the workspace root itself). */
  name: string | null;
  /** The resolved path inside the workspace, symlinks followed. */
  virtual: string[];
  stat: Stats | null;
  release: () => Promise<void>;
}

const MAX_LINKS = 40;

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function at(dir: FileHandle, name: string): string {
  return `/proc/self/fd/${dir.fd}/${name}`;
}

export class ConfinedFileAccess implements ConfinedFiles {
  constructor(private readonly opts: ConfinedFilesOptions) {}

  /** Resolves `path` inside the workspace; symlinks are followed only while they stay inside. */
  private async walk(path: string, how: { followLast: boolean; createParents?: boolean }): Promise<Walk> {
    const parts = splitRelativePath(path);
    const root = await open(this.opts.root, C.O_RDONLY | C.O_DIRECTORY);
    const stack: { handle: FileHandle; name: string }[] = [];
    const release = async () => {
      for (const h of [root, ...stack.map((s) => s.handle)]) await h.close().catch(() => undefined);
    };
    const current = () => stack.at(-1)?.handle ?? root;
    const names = () => stack.map((s) => s.name);
    try {
      if (parts.length === 0) return { dir: root, name: null, virtual: [], stat: null, release: () => release() };
      let queue = parts;
      let links = 0;
      while (queue.length > 0) {
        const [comp, ...rest] = queue as [string, ...string[]];
        queue = rest;
        if (comp === '' || comp === '.') continue;
        if (comp === '..') {
          const popped = stack.pop();
          if (!popped) throw new WorkspacePathError(`${path}: a symbolic link on the way leads outside the workspace`);
          await popped.handle.close();
          continue;
        }
        const last = queue.length === 0;
        const p = at(current(), comp);
        let st: Stats | null = null;
        try {
          st = await lstat(p);
        } catch (err) {
          if (code(err) !== 'ENOENT') throw err;
        }
        if (st?.isSymbolicLink() && (!last || how.followLast)) {
          if (++links > MAX_LINKS) throw new WorkspacePathError(`${path}: too many levels of symbolic links`);
          const target = await readlink(p);
          if (target.startsWith('/')) {
            // Links made inside the sandbox may name the workspace by its in-sandbox path.
            const m = /^\/workspace(\/.*)?$/.exec(target.replace(/\/+/g, '/'));
            if (!m) throw new WorkspacePathError(`${path}: ${[...names(), comp].join('/')} is a symbolic link to ${target}, outside the workspace`);
            for (const s of stack.splice(0)) await s.handle.close();
            queue = [...(m[1] ?? '').split('/'), ...queue];
          } else {
            queue = [...target.split('/'), ...queue];
          }
          continue;
        }
        if (last) {
          const result = { dir: current(), name: comp, virtual: [...names(), comp], stat: st };
          return { ...result, release: () => release() };
        }
        if (!st) {
          if (!how.createParents) throw new WorkspacePathError(`${path}: directory ${[...names(), comp].join('/')} does not exist`);
          await mkdir(p, { mode: 0o755 }).catch((err) => {
            if (code(err) !== 'EEXIST') throw err;
          });
          if (isRoot()) await lchown(p, this.opts.uid, this.opts.uid);
        } else if (!st.isDirectory()) {
          throw new WorkspacePathError(`${path}: ${[...names(), comp].join('/')} is not a directory`);
        }
        try {
          stack.push({ handle: await open(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW), name: comp });
        } catch (err) {
          if (code(err) === 'ELOOP' || code(err) === 'ENOTDIR') throw new WorkspacePathError(`${path}: changed while being accessed; try again`);
          throw err;
        }
      }
      // Every component was consumed by links that resolve to a directory.
      return { dir: current(), name: null, virtual: names(), stat: null, release: () => release() };
    } catch (err) {
      await release();
      throw translate(err, path);
    }
  }

  private refuseGitDir(path: string, virtual: string[], writing: boolean): void {
    if (virtual[0] === '.git' || (writing && virtual.includes('.git'))) {
      throw new WorkspacePathError(`${path}: .git is managed by Delegate and read-only; use git commands in the shell to inspect it`);
    }
  }

  async readFile(path: string): Promise<Buffer> {
    this.opts.checkOpen();
    const data = await this.readEntry(path, false);
    if (data === null) throw new WorkspacePathError(`${path}: no such file`);
    return data;
  }

  /**
   * A file's content; with `linkText`, a symlink's target text instead of following it (as git
   * shows symlinks). null when nothing is there.
   */
  async readEntry(path: string, linkText: boolean): Promise<Buffer | null> {
    const w = await this.walk(path, { followLast: !linkText });
    try {
      this.refuseGitDir(path, w.virtual, false);
      if (w.name === null) throw new WorkspacePathError(`${path || '.'} is a directory; list it instead`);
      if (!w.stat) return null;
      if (w.stat.isSymbolicLink()) return Buffer.from(await readlink(at(w.dir, w.name)));
      let h: FileHandle;
      try {
        h = await open(at(w.dir, w.name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
      } catch (err) {
        if (code(err) === 'ENOENT') return null;
        throw err;
      }
      try {
        const st = await h.stat();
        if (st.isDirectory()) throw new WorkspacePathError(`${path} is a directory; list it instead`);
        if (!st.isFile()) throw new WorkspacePathError(`${path} is not a regular file`);
        return await h.readFile();
      } finally {
        await h.close();
      }
    } catch (err) {
      throw translate(err, path);
    } finally {
      await w.release();
    }
  }

  async writeFile(path: string, data: string | Buffer): Promise<void> {
    this.opts.checkOpen();
    this.refuseGitDir(path, splitRelativePath(path), true);
    const w = await this.walk(path, { followLast: true, createParents: true });
    try {
      this.refuseGitDir(path, w.virtual, true);
      if (w.name === null) throw new WorkspacePathError(`${path || '.'} is a directory`);
      const p = at(w.dir, w.name);
      let h: FileHandle;
      let created = false;
      try {
        h = await open(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o644);
        created = true;
      } catch (err) {
        if (code(err) !== 'EEXIST') throw err;
        h = await open(p, C.O_WRONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
      }
      try {
        const st = await h.stat();
        if (!st.isFile()) throw new WorkspacePathError(`${path} is not a regular file`);
        if (created && isRoot()) await h.chown(this.opts.uid, this.opts.uid);
        await h.truncate(0);
        await h.writeFile(data);
      } finally {
        await h.close();
      }
    } catch (err) {
      throw translate(err, path);
    } finally {
      await w.release();
    }
  }

  async deleteFile(path: string): Promise<void> {
    this.opts.checkOpen();
    const w = await this.walk(path, { followLast: false });
    try {
      this.refuseGitDir(path, w.virtual, true);
      if (w.name === null) throw new WorkspacePathError(`${path || '.'} is the workspace root`);
      if (!w.stat) throw new WorkspacePathError(`${path}: no such file`);
      if (w.stat.isDirectory()) throw new WorkspacePathError(`${path} is a directory; remove it with a shell command`);
      await unlink(at(w.dir, w.name));
    } catch (err) {
      throw translate(err, path);
    } finally {
      await w.release();
    }
  }

  async exists(path: string): Promise<boolean> {
    this.opts.checkOpen();
    let w: Walk;
    try {
      w = await this.walk(path, { followLast: true });
    } catch (err) {
      if (err instanceof WorkspacePathError && /does not exist|not a directory|no such file/.test(err.message)) return false;
      throw err;
    }
    try {
      return w.name === null || w.stat !== null;
    } finally {
      await w.release();
    }
  }

  /** The directory's path inside the workspace with symlinks resolved; must be a directory. */
  private async resolveDir(path: string): Promise<string> {
    const w = await this.walk(path, { followLast: true });
    try {
      if (w.name !== null && !w.stat?.isDirectory()) throw new WorkspacePathError(`${path}: not a directory`);
      this.refuseGitDir(path, w.virtual, false);
      return w.virtual.join('/');
    } finally {
      await w.release();
    }
  }

  async list(options: ListOptions = {}): Promise<{ entries: string[]; truncated: boolean }> {
    this.opts.checkOpen();
    const limit = options.limit ?? 2000;
    const dir = options.dir ? await this.resolveDir(options.dir) : '';
    // A refreshed index holds exactly the files present that are not ignored.
    if (this.opts.refreshIndex) await this.opts.refreshIndex();
    const which = this.opts.refreshIndex ? ['-c'] : ['-c', '-d', '-o', '--exclude-standard'];
    const args = ['ls-files', '-z', '-t', ...which, '--', dir ? pathspec(dir) : '.'];
    // From the index alone, the answer is a function of the index's content: the same for every
    // task that has not changed its base yet (most first looks), so it is kept by checksum.
    const key = this.opts.refreshIndex ? await indexChecksum(this.opts.indexFile).then((sum) => sum && `${sum}\0${args.join('\0')}`) : null;
    let listed = key ? listings.get(key) : undefined;
    if (!listed) {
      const r = await runGit(args, { host: this.opts.host, gitDir: this.opts.gitDir, workTree: this.opts.root, indexFile: this.opts.indexFile, maxOutputBytes: 16 << 20 });
      if (r.code !== 0 && !r.truncated) throw new Error(`listing files failed: ${firstLine(r.stderr)}`);
      listed = { files: parseLsFiles(r.stdout.toString('utf8')), truncated: r.truncated };
      if (key && !r.truncated) remember(key, listed);
    }
    let files = listed.files;
    if (options.recursive === false) files = directChildren(files, dir);
    return { entries: files.slice(0, limit), truncated: listed.truncated || files.length > limit };
  }

  async search(pattern: string, options: SearchOptions = {}): Promise<{ matches: SearchMatch[]; truncated: boolean }> {
    this.opts.checkOpen();
    const max = options.maxResults ?? 200;
    const args = ['grep', '--untracked', '-I', '-n', '-z', '--no-color', '--full-name', '--no-textconv', `--max-count=${max + 1}`];
    args.push(options.fixed ? '-F' : '-E');
    if (options.ignoreCase) args.push('-i');
    args.push('-e', pattern, '--');
    if (options.path) args.push(pathspec(options.path));
    const r = await runGit(args, { host: this.opts.host, gitDir: this.opts.gitDir, workTree: this.opts.root, indexFile: this.opts.indexFile, maxOutputBytes: 4 << 20 });
    if (r.code === 1) return { matches: [], truncated: false };
    if (r.code !== 0 && !r.truncated) throw new WorkspacePathError(`search failed: ${firstLine(r.stderr)}`);
    const parsed = parseGrep(r.stdout.toString('utf8'), max);
    return { matches: parsed.matches, truncated: parsed.truncated || r.truncated };
  }
}

/** Recent listings by index checksum (a few bases' worth: ~50 bytes per path). */
const listings = new Map<string, { files: string[]; truncated: boolean }>();
const LISTINGS_KEPT = 8;

function remember(key: string, listing: { files: string[]; truncated: boolean }): void {
  listings.delete(key);
  listings.set(key, listing);
  while (listings.size > LISTINGS_KEPT) listings.delete(listings.keys().next().value!);
}

/**
 * The index file's trailing checksum (git writes the hash of everything before it last) with its
 * size; null when it cannot be read or carries none (index.skipHash writes zeros).
 */
async function indexChecksum(indexFile: string): Promise<string | null> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(indexFile, 'r');
    const { size } = await handle.stat();
    if (size < 64) return null;
    const tail = Buffer.alloc(32);
    await handle.read(tail, 0, 32, size - 32);
    if (tail.subarray(12).every((b) => b === 0)) return null;
    return `${size}:${tail.toString('hex')}`;
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}

function translate(err: unknown, path: string): unknown {
  if (err instanceof WorkspacePathError) return err;
  switch (code(err)) {
    case 'ENOENT':
      return new WorkspacePathError(`${path}: no such file or directory`);
    case 'EISDIR':
      return new WorkspacePathError(`${path} is a directory`);
    case 'ENOTDIR':
      return new WorkspacePathError(`${path}: a component of the path is not a directory`);
    case 'ELOOP':
      return new WorkspacePathError(`${path}: changed while being accessed (symbolic link); try again`);
    case 'ENXIO':
      return new WorkspacePathError(`${path} is not a regular file`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new WorkspacePathError(`${path}: no space left — the workspace's disk cap is reached; delete large files`);
    case 'ENAMETOOLONG':
      return new WorkspacePathError(`${path}: name too long`);
    default:
      return err;
  }
}
