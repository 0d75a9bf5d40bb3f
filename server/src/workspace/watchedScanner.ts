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
import { scanStatus, statusEntries, uncommittedPatch, type PlainScanner, type ScanContext, type ScanTarget, type UncommittedScanner } from './scanner';

export class WatchedScanner implements UncommittedScanner {
  constructor(
    private readonly watches: RepoWatches,
    private readonly plain: PlainScanner,
  ) {}

  async scan(path: string, target: Promise<ScanTarget>, ctx: ScanContext): Promise<string> {
    // No kept result: the plain scan starts at once, as it would without the cache.
    const offered = this.watches.offers(path);
    const plain = offered ? null : this.plain.scan(path, target, ctx);
    plain?.catch(() => undefined);
    const where = await target;
    const kept = offered && where.head && where.plain ? await this.watches.kept(path) : undefined;
    if (where.plain) this.watches.use(path, watchHooks(where.top, ctx));
    if (kept !== undefined) return kept;
    return plain ?? this.plain.scan(path, Promise.resolve(where), ctx);
  }
}

/** What the repository watch needs to vouch for `top` without a scan. */
function watchHooks(top: string, ctx: ScanContext): WatchHooks {
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
      const status = await scanStatus(user);
      const patch = await uncommittedPatch(status, { ...facts, plain: true }, { host: ctx.host, dataDir: ctx.dataDir });
      return { patch, paths: statusEntries(status).map((e) => e.slice(3)) };
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
