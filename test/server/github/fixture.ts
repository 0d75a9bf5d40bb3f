// Shared set-up for the pull-request tests: a fake GitHub with one repository, the server-side
// bare mirror cloned from it, and task-like diffs made the way the workspace makes them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, mkdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EMPTY_USAGE, parseUnifiedDiff, selectHunks, type ChangedFile, type FileDiff } from '../../../protocol';
import { hostEnvOf } from '../../../server/src/config';
import type { PullRequestParams } from '../../../server/src/github';
import { createLogger, Scrubber, type Logger } from '../../../server/src/log';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { git } from '../../support/gitHttpServer';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';

export function makeToken(): string {
  return `ghp_${randomBytes(18).toString('hex')}`;
}

const lines = (n: number, tag: string): string => Array.from({ length: n }, (_, i) => `${tag} line ${i + 1}`).join('\n') + '\n';

export const BASE_FILES = {
  'a.txt': lines(40, 'a'),
  'old.txt': 'to be deleted\n',
  'img.bin': Buffer.from([0, 1, 2, 3, 255, 254, 0, 10, 13, 0]),
  'README.md': '# demo\n',
};

/** The agent's edits: two far-apart hunks in a.txt, a new file, a deletion, a binary change. */
export const TASK_EDITS: Record<string, string | Buffer | null> = {
  'a.txt': BASE_FILES['a.txt'].replace('a line 3\n', 'a line 3 CHANGED\n').replace('a line 35\n', 'a line 35 REJECTED\n'),
  'src/new.ts': 'export const answer = 42;\n',
  'old.txt': null,
  'img.bin': Buffer.from([0, 1, 2, 3, 255, 254, 0, 10, 13, 0, 7, 7, 0]),
};

export interface Scenario {
  fake: FakeGitHub;
  token: string;
  owner: string;
  repo: string;
  remoteUrl: string;
  mirrorDir: string;
  baseCommit: string;
  tmp: string;
  close(): Promise<void>;
}

/** A fake GitHub holding owner/repo with BASE_FILES, and the server's bare mirror of it. */
export async function scenario(opts: { owner?: string; repo?: string; token?: string } = {}): Promise<Scenario> {
  const token = opts.token ?? makeToken();
  const owner = opts.owner ?? 'octo';
  const repo = opts.repo ?? 'demo';
  const fake = await startFakeGitHub({ token });
  const tmp = await mkdtemp(join(tmpdir(), 'delegate-gh-test-'));
  try {
    const { remoteUrl, dir, commit } = await fake.createRepo(owner, repo, BASE_FILES);
    const mirrorDir = join(tmp, 'mirror.git');
    const cloned = await git(['clone', '--quiet', '--bare', dir, mirrorDir]);
    if (cloned.code !== 0) throw new Error(cloned.stderr);
    return { fake, token, owner, repo, remoteUrl, mirrorDir, baseCommit: commit, tmp, close: async () => {
      await fake.close();
      await rm(tmp, { recursive: true, force: true });
    } };
  } catch (err) {
    await fake.close();
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The task's full diff against `base`, as `git diff --binary` prints it, made in a scratch clone. */
export async function taskDiff(s: Scenario, edits: Record<string, string | Buffer | null>, base = s.baseCommit): Promise<string> {
  const wt = await mkdtemp(join(s.tmp, 'wt-'));
  try {
    const run = async (args: string[]): Promise<string> => {
      const r = await git(args, { cwd: wt });
      if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.toString('utf8');
    };
    await run(['clone', '--quiet', '--no-checkout', s.mirrorDir, '.']);
    await run(['checkout', '--quiet', '--detach', base]);
    for (const [path, content] of Object.entries(edits)) {
      const full = join(wt, path);
      if (content === null) await unlink(full);
      else {
        await mkdir(dirname(full), { recursive: true });
        await writeFile(full, content);
      }
    }
    await run(['add', '-A']);
    return await run(['diff', '--cached', '--binary', base]);
  } finally {
    await rm(wt, { recursive: true, force: true });
  }
}

/** Takes hunk 0 of a.txt (rejecting hunk 1) and every other file whole, as the review would. */
export function acceptFirstHunkOfA(diff: string): { patch: string; files: FileDiff[] } {
  const files = parseUnifiedDiff(diff);
  return { patch: selectHunks(files, (f) => (f.path === 'a.txt' ? [0] : 'all')), files };
}

export function changedFilesOf(files: FileDiff[]): ChangedFile[] {
  return files.map((f) => ({
    path: f.path,
    status: f.status,
    additions: f.hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith('+')).length, 0),
    deletions: f.hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith('-')).length, 0),
    ...(f.binary ? { binary: true } : {}),
  }));
}

const RUNNER = new SpawnRunner();

export function baseParams(s: Scenario, patch: string, extra: Partial<PullRequestParams> = {}): PullRequestParams {
  return {
    mirrorDir: s.mirrorDir,
    baseCommit: s.baseCommit,
    baseBranch: 'main',
    remoteUrl: s.remoteUrl,
    patch,
    taskId: '3f2a9c41-7d1e-4c55-9e0b-123456789abc',
    prompt: 'Make line three louder and add the answer module',
    summary: 'Changed line 3 of a.txt and added src/new.ts exporting the answer.',
    changedFiles: [],
    testResult: { command: 'npm test', passed: true, summary: '12 passing' },
    usage: { ...EMPTY_USAGE, inputTokens: 12345, cachedInputTokens: 2000, outputTokens: 678, reasoningTokens: 90, costUsd: 0.0421, modelRequests: 4 },
    githubToken: s.token,
    apiBaseUrl: s.fake.apiBaseUrl,
    hostEnv: hostEnvOf(process.env),
    runner: RUNNER,
    ...extra,
  };
}

/** The server's logger writing into `lines` (scrubbing nothing itself: what arrives is what the flow let out). */
export function linesLogger(lines: string[]): Logger {
  return createLogger({ level: 'debug', scrubber: new Scrubber(), write: (line) => void lines.push(line) });
}
