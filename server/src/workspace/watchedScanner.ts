// A cache in front of the plain scanner: a repository under watch (repoWatch.ts) that nothing has
// touched since its last scan gets that scan's patch instead of a new `git status` over every file
// (`npm run bench`: the first command of a task on an unchanged repository starts ~45 ms sooner
// on 5,000 files). Anything the watch cannot vouch for goes to the plain scanner. On by default;
// `--repo-watch off` leaves the plain scanner alone.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { firstLine, gitMaybe, repoError, runGit, type GitRun, type Host } from './git';
import { readRepoFacts, type RepoFacts } from './repoFiles';
import type { RepoWatches, WatchHooks } from './repoWatch';
import type { PlainScanner, ScanContext, ScanTarget, UncommittedScanner } from './scanner';

export class WatchedScanner implements UncommittedScanner {
  constructor(
    private readonly watches: RepoWatches,
    private readonly plain: PlainScanner,
  ) {}

  async scan(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<string> {
    // No kept result: the plain scan starts at once, as it would without the cache.
    const offered = this.watches.offers(path);
    const own = offered ? null : this.ownScan(path, target, ctx);
    own?.catch(() => undefined);
    const where = await target;
    const kept = offered && where.head && where.plain ? await this.watches.kept(path) : undefined;
    if (where.plain) this.watches.use(path, watchHooks(where.top, ctx, this.plain));
    if (kept !== undefined) return kept;
    return own ?? this.ownScan(path, Promise.resolve(where), ctx);
  }

  /**
   * The plain scan. On a watched repository it takes a ticket first (a few stats): if nothing
   * changed while it ran, its result is kept for the next task, as a background scan's would be.
   */
  private async ownScan(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<string> {
    const ticket = await this.watches.ticket(path);
    const result = await this.plain.scanPaths(path, target, ctx);
    const where = await target;
    if (ticket && where.head && where.plain) void this.watches.adopt(ticket, result);
    return result.patch;
  }
}

/** What the repository watch needs to vouch for `top` without a scan. */
function watchHooks(top: string, ctx: ScanContext, plain: PlainScanner): WatchHooks {
  const user: GitRun = { host: ctx.host, cwd: top, userRepo: true };
  const readOnly: GitRun = { ...user, env: { GIT_OPTIONAL_LOCKS: '0' } };
  let excludesFile = '';
  return {
    async list() {
      const [files, excludes] = await Promise.all([
        runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], readOnly),
        gitMaybe(['config', '--path', '--get', 'core.excludesFile'], readOnly),
      ]);
      if (files.code !== 0) throw repoError(`could not list ${top}: ${firstLine(files.stderr)}`);
      excludesFile = excludes ?? '';
      return files.stdout.toString('utf8').split('\0').filter(Boolean);
    },
    async stamp() {
      const facts = await readRepoFacts(top);
      return facts ? stampOf(facts, excludesFile, ctx.host) : null;
    },
    async scan() {
      const facts = await readRepoFacts(top);
      if (!facts) throw repoError(`${top} is no longer a plain repository`);
      return plain.scanPaths(top, Promise.resolve({ ...facts, plain: true }), { host: ctx.host, dataDir: ctx.dataDir });
    },
  };
}

/**
 * HEAD and the files that decide what a scan finds besides the work tree: the index, and what sets
 * ignore rules, attributes and config (the repository's, the user's, the system's).
 */
async function stampOf(facts: RepoFacts, excludesFile: string, host: Host): Promise<string> {
  const gitDir = dirname(facts.indexPath);
  const home = host.env.HOME ?? '/';
  const xdg = host.env.XDG_CONFIG_HOME || join(home, '.config');
  const files = [
    facts.indexPath, join(gitDir, 'config'), join(gitDir, 'info', 'exclude'), join(gitDir, 'info', 'attributes'), join(gitDir, 'info', 'sparse-checkout'),
    join(home, '.gitconfig'), join(xdg, 'git', 'config'), join(xdg, 'git', 'ignore'), join(xdg, 'git', 'attributes'), '/etc/gitconfig', '/etc/gitattributes',
    ...(excludesFile ? [excludesFile] : []),
  ];
  const stats = await Promise.all(files.map((f) => stat(f, { bigint: true }).then((s) => `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, () => '-')));
  return JSON.stringify([facts.head, facts.symbolic, ...stats]);
}
