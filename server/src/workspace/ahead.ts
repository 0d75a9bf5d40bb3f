// Notices the user's new commits, so that their first task finds its base ready. A user commits,
// then delegates: the seconds in between are enough to copy the commit into the mirror, build its
// base layer and scan the tree for uncommitted changes, which the first task on a new commit
// otherwise does itself (the bench's cold start: ~100 ms more than a warm one on 5,000 files,
// ~250 ms on 50,000). An optional layer beside the plain path (--no-prepare-ahead): the work is
// the same a task does (manager.ts prepareAhead), only started sooner.
//
// What it watches: the git dir of each local repository a task used (non-recursive inotify, via
// fs.watch) and the directory of its branch's ref file. A commit rewrites the index and the ref;
// a checkout, reset or merge writes HEAD, the index or ORIG_HEAD. After any event in them, and
// once they are quiet for `quietMs`, HEAD is read again (a few small files, repoFiles.ts); only a
// new commit there calls `onCommit`. Repositories out of the ordinary (worktrees, unborn branches:
// readRepoFacts answers null) are not watched. A repository no task used for `idleMs` is dropped.
import { watch, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log';
import { readRepoFacts } from './repoFiles';

export interface HeadWatchOptions {
  /** Called with the top of a repository whose HEAD names a new commit (the job reads HEAD itself: it may have moved on by then). */
  onCommit: (top: string) => void;
  /** Quiet after the last event before HEAD is read (default 150 ms: git writes several files). */
  quietMs?: number;
  /** A repository no task used for this long is no longer watched (default 10 min). */
  idleMs?: number;
  /** Repositories watched at most (least recently used dropped first; default 8). */
  maxRepos?: number;
  log: Logger;
}

interface Watched {
  top: string;
  head: string;
  /** The branch's ref file (refs/heads/…) whose directory is watched; null when HEAD is detached. */
  symbolic: string | null;
  watchers: FSWatcher[];
  timer: NodeJS.Timeout | undefined;
  lastUsed: number;
}

export class HeadWatch {
  private readonly repos = new Map<string, Watched>();
  private readonly quietMs: number;
  private readonly idleMs: number;
  private readonly maxRepos: number;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: HeadWatchOptions) {
    this.quietMs = options.quietMs ?? 150;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.maxRepos = options.maxRepos ?? 8;
    this.sweeper = setInterval(() => {
      for (const repo of this.repos.values()) if (Date.now() - repo.lastUsed > this.idleMs) this.drop(repo);
    }, Math.min(60_000, this.idleMs));
    this.sweeper.unref();
  }

  /** A task used the local repository at `path`: watch its HEAD from here on. Never rejects. */
  async use(path: string): Promise<void> {
    const top = await realpath(path).catch(() => null);
    const known = top ? this.repos.get(top) : undefined;
    if (known) {
      known.lastUsed = Date.now();
      this.repos.delete(known.top); // the most recently used last: the first to go is the least
      this.repos.set(known.top, known);
      return;
    }
    const facts = top ? await readRepoFacts(top) : null;
    if (!top || !facts || this.closed || this.repos.has(top)) return;
    const repo: Watched = { top, head: facts.head, symbolic: facts.symbolic, watchers: [], timer: undefined, lastUsed: Date.now() };
    this.repos.set(top, repo);
    this.watchDirs(repo);
    for (const old of [...this.repos.values()].slice(0, Math.max(0, this.repos.size - this.maxRepos))) this.drop(old);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const repo of this.repos.values()) this.drop(repo);
  }

  /** The git dir, and the directory of the branch's ref (a commit writes only there and the index). */
  private watchDirs(repo: Watched): void {
    for (const w of repo.watchers) w.close();
    const gitDir = join(repo.top, '.git');
    const dirs = [gitDir, ...(repo.symbolic ? [dirname(join(gitDir, repo.symbolic))] : [])];
    repo.watchers = dirs.flatMap((dir) => {
      try {
        const w = watch(dir, { persistent: false }, () => this.changed(repo));
        // The directory went (the repository was removed): nothing more to watch there.
        w.on('error', () => this.drop(repo));
        return [w];
      } catch (err) {
        // A branch whose ref is only in packed-refs may have no directory yet: the index still tells.
        if (dir === gitDir) this.options.log.warn('cannot watch a repository for new commits', { top: repo.top, err: err as Error });
        return [];
      }
    });
    if (repo.watchers.length === 0) this.drop(repo);
  }

  private changed(repo: Watched): void {
    clearTimeout(repo.timer);
    repo.timer = setTimeout(() => void this.look(repo), this.quietMs);
    repo.timer.unref();
  }

  private async look(repo: Watched): Promise<void> {
    repo.timer = undefined;
    const facts = await readRepoFacts(repo.top);
    if (this.repos.get(repo.top) !== repo) return;
    if (!facts) return this.drop(repo);
    if (facts.symbolic !== repo.symbolic) {
      repo.symbolic = facts.symbolic;
      this.watchDirs(repo);
    }
    if (facts.head === repo.head) return;
    repo.head = facts.head;
    if (Date.now() - repo.lastUsed <= this.idleMs) this.options.onCommit(repo.top);
  }

  private drop(repo: Watched): void {
    clearTimeout(repo.timer);
    for (const w of repo.watchers) w.close();
    repo.watchers = [];
    if (this.repos.get(repo.top) === repo) this.repos.delete(repo.top);
  }
}
