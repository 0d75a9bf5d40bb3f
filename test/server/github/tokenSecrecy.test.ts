// The token reaches git only through the child's environment and the API only through Octokit:
// after full runs (new PR, follow-up, failures) it is in no file under the temp dirs (mirror,
// remote repositories, git config), in no log line or message, and in no process's argv.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPullRequest, type PullRequestResult } from '../../../server/src/github';
import { acceptFirstHunkOfA, baseParams, linesLogger, scenario, TASK_EDITS, taskDiff, type Scenario } from './fixture';

/** Every file under `dir` whose bytes contain one of `needles`. */
async function filesContaining(dir: string, needles: string[]): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const data = await readFile(full).catch(() => Buffer.alloc(0));
        if (needles.some((n) => data.includes(n))) hits.push(full);
      }
    }
  };
  await walk(dir);
  return hits;
}

/** Samples every process's argv while `fn` runs; returns the command lines that held a needle. */
async function watchArgv<T>(needles: string[], fn: () => Promise<T>): Promise<{ value: T; leaks: string[]; samples: number }> {
  const leaks: string[] = [];
  let samples = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      // In parallel: one pass over /proc is slow here, and short-lived children must be caught.
      const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
      const cmds = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/cmdline`).catch(() => null)));
      for (const cmd of cmds) {
        if (!cmd) continue;
        samples++;
        if (needles.some((n) => cmd.includes(n))) leaks.push(cmd.toString().replace(/\0/g, ' '));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    return { value: await fn(), leaks, samples };
  } finally {
    running = false;
    await sampler;
  }
}

describe('github: the token never reaches disk, logs or argv', () => {
  let s: Scenario;
  let wrapperDir: string;
  let argvLog: string;
  const savedPath = process.env.PATH;
  before(async () => {
    s = await scenario();
    // Every `git` started through PATH (ours and the fake server's) records its argv first.
    wrapperDir = await mkdtemp(join(tmpdir(), 'delegate-git-wrapper-'));
    argvLog = join(wrapperDir, 'argv.log');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    await writeFile(join(wrapperDir, 'git'), `#!/bin/sh\nprintf '%s ' "$@" >> '${argvLog}'\nprintf '\\n' >> '${argvLog}'\nexec ${realGit} "$@"\n`);
    await chmod(join(wrapperDir, 'git'), 0o755);
    process.env.PATH = `${wrapperDir}:${savedPath ?? ''}`;
  });
  after(async () => {
    process.env.PATH = savedPath;
    await s.close();
    await rm(wrapperDir, { recursive: true, force: true });
  });

  it('leaves no trace of the token after successes and failures', async () => {
    const token = s.token;
    const needles = [token, Buffer.from(`x-access-token:${token}`).toString('base64'), Buffer.from(token).toString('base64')];
    const logs: string[] = [];
    const results: PullRequestResult[] = [];
    const diff = await taskDiff(s, TASK_EDITS);
    const patch = acceptFirstHunkOfA(diff).patch;
    const log = linesLogger(logs);

    const { leaks, samples } = await watchArgv(needles, async () => {
      const first = await openPullRequest(baseParams(s, patch, { log }));
      results.push(first);
      assert.ok(first.ok, JSON.stringify(first));
      results.push(await openPullRequest(baseParams(s, diff, { existing: first.pullRequest, log })));
      s.fake.setMode({ rateLimited: 403 });
      results.push(await openPullRequest(baseParams(s, patch, { taskId: 'feedface-rate', log })));
      s.fake.setMode({ rateLimited: false, pushForbidden: true });
      results.push(await openPullRequest(baseParams(s, patch, { taskId: 'deadbeef-forbidden', log })));
      s.fake.setMode({ pushForbidden: false });
    });
    assert.deepEqual(results.map((r) => (r.ok ? 'ok' : r.error.code)), ['ok', 'ok', 'rate_limited', 'github_forbidden']);
    assert.ok(samples > 0, 'the argv sampler ran');
    assert.deepEqual(leaks, [], 'no process had the token in its argv');

    const recorded = await readFile(argvLog, 'utf8');
    assert.match(recorded, /push --porcelain/, 'the wrapper saw our git calls');
    assert.match(recorded, /http-backend/, 'and the server side');
    assert.ok(!needles.some((n) => recorded.includes(n)), 'no git argv held the token');

    const text = [logs.join('\n'), s.fake.log.join('\n'), JSON.stringify(results), JSON.stringify(s.fake.requests), JSON.stringify(s.fake.pulls)].join('\n');
    assert.ok(logs.length > 3, logs.join('\n'));
    assert.ok(!needles.some((n) => text.includes(n)), 'no log line, message or recorded request holds the token');

    assert.deepEqual(await filesContaining(s.tmp, needles), [], 'mirror and scratch dirs');
    assert.deepEqual(await filesContaining(s.fake.root, needles), [], 'remote repositories');
    for (const f of ['.gitconfig', '.git-credentials', '.config/git/config', '.config/git/credentials']) {
      const data = await readFile(join(homedir(), f)).catch(() => Buffer.alloc(0));
      assert.ok(!needles.some((n) => data.includes(n)), `~/${f}`);
    }
    for (const d of (await readdir(tmpdir())).filter((n) => n.startsWith('delegate-pr-index-'))) {
      assert.deepEqual(await filesContaining(join(tmpdir(), d), needles), [], d);
    }
    const config = await readFile(join(s.mirrorDir, 'config'), 'utf8');
    assert.doesNotMatch(config, /extraheader|x-access-token|credential/i);
  });

  it('the scanners do find a planted token (they can fail)', async () => {
    const canaryDir = await mkdtemp(join(s.tmp, 'canary-'));
    await writeFile(join(canaryDir, 'leak'), `Authorization: Basic ${Buffer.from(`x-access-token:${s.token}`).toString('base64')}`);
    const needles = [s.token, Buffer.from(`x-access-token:${s.token}`).toString('base64')];
    assert.equal((await filesContaining(s.tmp, needles)).length, 1);
    const { leaks, samples } = await watchArgv(needles, async () => {
      await new Promise((r) => spawn('sh', ['-c', 'sleep 1', 'sh', s.token]).on('close', r));
    });
    assert.ok(leaks.length > 0, `sampler saw nothing (${samples} samples)`);
    await rm(canaryDir, { recursive: true, force: true });
  });
});
