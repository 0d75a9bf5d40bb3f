// Keeps the user's repositories under watch, so that a task on a repository nothing has touched
// since the last look skips the scan of its work tree for uncommitted changes. That scan is a
// `git status` over every file (~45 ms on 5,000 files here, seconds on large trees) and the
// slowest step before a task's first command. Git's fsmonitor does the same job; Debian's git has
// no Linux daemon for it.
//
// How a result is kept honest:
// - Every directory git looks at (those of tracked files and of untracked, not ignored ones, and
//   their ancestors) has an inotify watch (fs.watch). Any event in any of them makes the kept
//   result stale. Directories are re-listed and re-checked (same inode) before every scan, and a
//   scan that names a file in a directory without a watch is not kept.
// - What inotify cannot see in the work tree is compared instead: HEAD, the index file (inode,
//   size, times), and the files that change what git ignores or how it reads the tree (the repo's
//   and the user's config, info/exclude, the global ignore file). That is the stamp.
// - Only a scan that began with the watches already in place is kept: the background scan, which
//   runs after a task used the repository and again after changes while it is in use (idle:
//   dropped), and a task's own scan that took a ticket (generation and stamp) before it began.
//   The next task after a commit then finds the scan of the task before it, not the full scan
//   again until the background one, which waits for quiet (up to 30 s on a large tree).
// - Before a kept result is used, the event loop turns twice, so that every inotify event the
//   kernel had queued by then has been handled.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../log';

export interface WatchHooks {
  /** Repository-relative paths of the files git looks at: tracked, and untracked but not ignored. */
  list(): Promise<string[]>;
  /** Everything inotify does not see in the work tree, as one string; null: cannot vouch. */
  stamp(): Promise<string | null>;
  /** The scan a task would make: its patch ('' when clean) and the paths it named. */
  scan(): Promise<{ patch: string; paths: string[] }>;
}

export interface RepoWatchesOptions {
  /** Repositories with more directories than this are not watched (default: a quarter of the inotify watch limit, at most 20,000). */
  maxDirs?: number;
  /** A repository no task used for this long is no longer watched (default 10 min). */
  idleMs?: number;
  /** Repositories watched at most (least recently used dropped first; default 8). */
  maxRepos?: number;
  /** Delay of the first background scan after a task used the repository (default 250 ms). */
  firstScanDelayMs?: number;
  /** Longest wait for quiet before a rescan after a change (default 30 s; it grows with the scan's cost). */
  maxQuietMs?: number;
  /** Shortest such wait (default 500 ms). */
  minQuietMs?: number;
  log?: Logger;
}

interface Kept {
  /** The watch generation the scan started in: any event since makes it stale. */
  generation: number;
  stamp: string;
  patch: string;
}

interface DirWatch {
  watcher: FSWatcher;
  ino: number;
  /** Its directory may have been removed or moved away (the watch would follow the inode). */
  suspect: boolean;
}

class WatchedRepo {
  generation = 0;
  readonly dirs = new Map<string, DirWatch>();
  kept: Kept | undefined;
  lastUsed = Date.now();
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  again = false;
  scanMs = 0;
  off: string | undefined;

  constructor(
    readonly top: string,
    public hooks: WatchHooks,
  ) {}
}

export interface RepoWatchStats {
  hits: number;
  misses: number;
  /** Background scans. */
  scans: number;
  /** Tasks' own scans kept for the next task. */
  adopted: number;
  watchedDirs: number;
}

/** What a task's own scan must still match when it ends for its result to be kept (ticket()). */
export interface ScanTicket {
  readonly repo: WatchedRepo;
  readonly generation: number;
  readonly stamp: string;
}

export interface ScanResult {
  patch: string;
  /** The paths the scan named. */
  paths: string[];
}

const CHUNK = 256;

/** statfs(2) magic numbers of the local filesystems whose changes inotify reports. */
const LOCAL_FILESYSTEMS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x794c7630, // overlayfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0xca451a4e, // bcachefs
]);

export class RepoWatches {
  private readonly repos = new Map<string, WatchedRepo>();
  private readonly idleMs: number;
  private readonly maxRepos: number;
  private readonly firstScanDelayMs: number;
  private maxDirs: Promise<number>;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private readonly counts = { hits: 0, misses: 0, scans: 0, adopted: 0 };

  constructor(private readonly options: RepoWatchesOptions = {}) {
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.maxRepos = options.maxRepos ?? 8;
    this.firstScanDelayMs = options.firstScanDelayMs ?? 250;
    this.maxDirs = options.maxDirs !== undefined
      ? Promise.resolve(options.maxDirs)
      : readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').then((t) => Math.min(20_000, Math.floor(Number(t) / 4) || 0), () => 0);
    this.sweeper = setInterval(() => this.dropIdle(), Math.min(60_000, this.idleMs));
    this.sweeper.unref();
  }

  /**
   * The patch kept for `top` ('' when it was clean) if nothing under watch changed since its scan
   * and the stamp is the same; undefined when the caller must scan. Costs the stamp (a few stats).
   */
  async kept(top: string): Promise<string | undefined> {
    const repo = this.repos.get(top);
    if (!repo || repo.off || !repo.kept) {
      this.counts.misses++;
      return undefined;
    }
    repo.lastUsed = Date.now();
    const [stamp] = await Promise.all([repo.hooks.stamp().catch(() => null), settle()]);
    const kept = repo.kept;
    if (!kept || stamp === null || kept.generation !== repo.generation || kept.stamp !== stamp) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    return kept.patch;
  }

  /** Whether `top` has a result that kept() may offer (a cheap look, before any stamp is read). */
  offers(top: string): boolean {
    const repo = this.repos.get(top);
    return !!repo && !repo.off && !!repo.kept && repo.kept.generation === repo.generation;
  }

  /**
   * For a task's own scan of `top` when there is no result to offer, taken before the scan begins;
   * undefined when its result could not be kept: the repository is not watched yet (no background
   * scan has placed the watches), or a background scan is under way (it will keep its own).
   */
  async ticket(top: string): Promise<ScanTicket | undefined> {
    const repo = this.repos.get(top);
    if (!repo || repo.off || repo.running || repo.dirs.size === 0) return undefined;
    const generation = repo.generation;
    const stamp = await repo.hooks.stamp().catch(() => null);
    if (stamp === null || repo.generation !== generation) return undefined;
    return { repo, generation, stamp };
  }

  /**
   * The result of a task's scan that began with `ticket`: kept, as a background scan's is, if
   * nothing changed since the ticket; then no background scan is needed for the next task. Never
   * rejects.
   */
  async adopt(ticket: ScanTicket, result: ScanResult): Promise<void> {
    const { repo } = ticket;
    if (this.closed || repo.off || this.repos.get(repo.top) !== repo) return;
    const after = await repo.hooks.stamp().catch(() => null);
    await settle();
    if (!this.keep(repo, ticket.generation, ticket.stamp, after, result, repo.dirs)) return;
    this.counts.adopted++;
    clearTimeout(repo.timer);
    repo.timer = undefined;
  }

  /** A task used `top`: keep it watched, and have a current result ready for the next one. */
  use(top: string, hooks: WatchHooks): void {
    if (this.closed) return;
    let repo = this.repos.get(top);
    if (!repo) {
      repo = new WatchedRepo(top, hooks);
      this.repos.set(top, repo);
      this.evictBeyond(this.maxRepos);
    }
    repo.hooks = hooks;
    repo.lastUsed = Date.now();
    if (!repo.off && !(repo.kept && repo.kept.generation === repo.generation)) this.schedule(repo, this.firstScanDelayMs);
  }

  stats(): RepoWatchStats {
    let watchedDirs = 0;
    for (const repo of this.repos.values()) watchedDirs += repo.dirs.size;
    return { ...this.counts, watchedDirs };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const running = [...this.repos.values()].flatMap((r) => (r.running ? [r.running] : []));
    for (const repo of this.repos.values()) this.drop(repo);
    await Promise.allSettled(running);
  }

  private schedule(repo: WatchedRepo, delayMs: number): void {
    if (repo.timer || this.closed) return;
    repo.timer = setTimeout(() => {
      repo.timer = undefined;
      this.refresh(repo);
    }, delayMs);
    repo.timer.unref();
  }

  /** After a change: scan again once things are quiet (while tasks use the repository). */
  private changed(repo: WatchedRepo): void {
    repo.generation++;
    if (Date.now() - repo.lastUsed < this.idleMs) this.schedule(repo, this.quietMs(repo));
  }

  /** In proportion to what a scan costs, so that a tree that keeps changing costs ≤ 5 % of a core. */
  private quietMs(repo: WatchedRepo): number {
    return Math.min(this.options.maxQuietMs ?? 30_000, Math.max(this.options.minQuietMs ?? 500, 20 * repo.scanMs));
  }

  private refresh(repo: WatchedRepo): void {
    if (this.closed || repo.off || this.repos.get(repo.top) !== repo) return;
    if (repo.running) {
      repo.again = true;
      return;
    }
    repo.running = this.scan(repo)
      .catch((err: unknown) => this.options.log?.warn('background scan of a repository failed', { top: repo.top, err: err as Error }))
      .finally(() => {
        repo.running = undefined;
        if (repo.again) {
          repo.again = false;
          this.schedule(repo, this.quietMs(repo));
        }
      });
  }

  private async scan(repo: WatchedRepo): Promise<void> {
    // inotify sees only what this kernel does: a network filesystem changed elsewhere would not show.
    const fs = await statfs(repo.top).catch(() => null);
    if (!fs || !LOCAL_FILESYSTEMS.has(fs.type)) return this.giveUp(repo, `not a local filesystem (type 0x${(fs?.type ?? 0).toString(16)})`);
    const before = repo.generation;
    const dirs = dirsOf(await repo.hooks.list());
    const max = await this.maxDirs;
    if (dirs.size > max) return this.giveUp(repo, `${dirs.size} directories (at most ${max} are watched)`);
    await this.reconcile(repo, dirs);
    if (repo.off || this.closed) return;
    // Something changed while the directories were listed or watched: the list may be short.
    if (repo.generation !== before) return this.schedule(repo, this.quietMs(repo));
    const generation = repo.generation;
    const stamp = await repo.hooks.stamp();
    if (stamp === null) return;
    const started = Date.now();
    const result = await repo.hooks.scan();
    repo.scanMs = Date.now() - started;
    this.counts.scans++;
    const after = await repo.hooks.stamp();
    await settle();
    if (!this.keep(repo, generation, stamp, after, result, dirs)) this.schedule(repo, this.quietMs(repo));
  }

  /**
   * Keeps a scan's result if nothing under watch changed since it began (`generation`) and the
   * stamp is the same after it. Not when it names a file in a directory outside `dirs` (listed, or
   * watched): one that came after the listing, watched from the next scan on. (A listed directory
   * without a watch is one that did not exist; its parent's watch sees it come.)
   */
  private keep(repo: WatchedRepo, generation: number, stamp: string, after: string | null, { patch, paths }: ScanResult, dirs: { has(dir: string): boolean }): boolean {
    if (repo.generation !== generation || after !== stamp) return false;
    if (paths.some((p) => !dirs.has(parentOf(p)))) return false;
    repo.kept = { generation, stamp, patch };
    return true;
  }

  /** Watches exactly `dirs` (relative; '' is the top), each on the inode it has now. */
  private async reconcile(repo: WatchedRepo, dirs: Set<string>): Promise<void> {
    for (const [dir, w] of repo.dirs) {
      if (!dirs.has(dir)) {
        w.watcher.close();
        repo.dirs.delete(dir);
      }
    }
    const list = [...dirs];
    for (let i = 0; i < list.length; i += CHUNK) {
      const chunk = list.slice(i, i + CHUNK);
      const stats = await Promise.all(chunk.map((dir) => stat(join(repo.top, dir)).catch(() => null)));
      if (repo.off || this.closed) return;
      chunk.forEach((dir, k) => {
        const st = stats[k];
        const current = repo.dirs.get(dir);
        if (current && st?.isDirectory() && current.ino === st.ino && !current.suspect) return;
        current?.watcher.close();
        repo.dirs.delete(dir);
        // Missing: the watch on its parent sees it arrive.
        if (!st?.isDirectory()) return;
        const entry = this.watchDir(repo, dir, st.ino);
        if (entry) repo.dirs.set(dir, entry);
      });
      if (repo.off) return;
    }
  }

  private watchDir(repo: WatchedRepo, dir: string, ino: number): DirWatch | undefined {
    const name = basename(dir);
    let entry: DirWatch | undefined;
    try {
      const watcher = watch(join(repo.top, dir), { persistent: false }, (_event, filename) => {
        // The directory itself moved or went away: inotify reports its own name.
        if (entry && (filename === null || (name !== '' && filename === name))) entry.suspect = true;
        this.changed(repo);
      });
      entry = { watcher, ino, suspect: false };
      watcher.on('error', () => {
        if (entry) entry.suspect = true;
        this.changed(repo);
      });
      return entry;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') this.giveUp(repo, `no more inotify watches (${code})`);
      return undefined;
    }
  }

  private giveUp(repo: WatchedRepo, why: string): void {
    this.options.log?.info('not watching a repository; every task scans it', { top: repo.top, reason: why });
    repo.off = why;
    repo.kept = undefined;
    for (const w of repo.dirs.values()) w.watcher.close();
    repo.dirs.clear();
  }

  private drop(repo: WatchedRepo): void {
    clearTimeout(repo.timer);
    repo.timer = undefined;
    for (const w of repo.dirs.values()) w.watcher.close();
    repo.dirs.clear();
    repo.kept = undefined;
    this.repos.delete(repo.top);
  }

  private dropIdle(): void {
    const now = Date.now();
    for (const repo of [...this.repos.values()]) if (now - repo.lastUsed >= this.idleMs) this.drop(repo);
  }

  private evictBeyond(max: number): void {
    const byUse = [...this.repos.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    while (byUse.length > max) this.drop(byUse.shift()!);
  }
}

/** Two turns of the event loop: a poll phase runs in between and delivers queued inotify events. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

function parentOf(path: string): string {
  const d = dirname(path);
  return d === '.' ? '' : d;
}

/** The directories holding `paths`, and all their ancestors; '' is the top. */
export function dirsOf(paths: string[]): Set<string> {
  const dirs = new Set<string>(['']);
  for (const path of paths) {
    for (let d = parentOf(path); !dirs.has(d); d = parentOf(d)) dirs.add(d);
  }
  return dirs;
}
