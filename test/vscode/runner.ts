// The real-VS-Code test tier: builds the extension and its test suite, starts the scripted model,
// a fake GitHub (git smart HTTP + the pull-request REST API) that the test workspaces' origin
// points at, the Delegate server, code-server and Chromium, runs the suite inside the extension
// host (test/vscode/suite), then drives the workbench UI (smoke.ts). Writes the counts to
// DELEGATE_TEST_STATS and screenshots to test-output/vscode/; exits non-zero on any failure.
//   node --require tsx/cjs test/vscode/runner.ts [--grep PATTERN] [--suite-only | --smoke-only] [--docs-images]
// --docs-images: after a smoke run without failures, refresh the README tour's pictures in docs/images/.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { installCodeServer, startCodeServer, type CodeServer } from '../support/codeServer';
import { startFakeModel } from '../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../support/githubDouble';
import { startServer, type ServerProcess } from '../support/serverProcess';
import { startControlServer } from './controlServer';
import { runSmoke, type TestResult } from './smoke';
import { runTeamSmoke } from './smokeTeam';
import { LINE_PREFIX, type SuiteResults } from './suite/index';
import { makeTestWorkspace } from './testWorkspace';
import { launchBrowser, openWorkbench, workbenchUrl } from './workbench';

const repoRoot = resolve(__dirname, '..', '..');
// DELEGATE_VSCODE_OUT lets concurrent runs on one checkout keep their screenshots apart.
const outDir = resolve(process.env.DELEGATE_VSCODE_OUT ?? join(repoRoot, 'test-output', 'vscode'));
const suiteDir = join(repoRoot, 'dist-test', 'vscode', 'suite');
const suiteTimeoutMs = Number(process.env.DELEGATE_VSCODE_SUITE_TIMEOUT_MS ?? 15 * 60_000);

interface Args { grep?: string; suite: boolean; smoke: boolean; docsImages: boolean }

/** Smoke screenshots (test-output/vscode) → the stable names the README uses (docs/images). */
const DOCS_IMAGES: Readonly<Record<string, string>> = {
  'queue-running.png': 'queue-running.png',
  'panel-live-output.png': 'panel-live-output.png',
  'panel-question.png': 'panel-question.png',
  'panel-checkpoints.png': 'panel-checkpoints.png',
  'review-diff.png': 'review-codelens.png',
  'pull-request.png': 'pull-request.png',
  'pull-request-preview.png': 'pull-request-preview.png',
  'team-queue.png': 'team-sign-in.png',
};

function parseArgs(argv: string[]): Args {
  const grepAt = argv.indexOf('--grep');
  return {
    grep: grepAt >= 0 ? argv[grepAt + 1] : undefined,
    suite: !argv.includes('--smoke-only'),
    smoke: !argv.includes('--suite-only'),
    docsImages: argv.includes('--docs-images'),
  };
}

const log = (line: string): void => console.log(`[vscode-runner] ${line}`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const results: TestResult[] = [];
  // Undone in reverse order on every path, including Ctrl-C.
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (let c = cleanups.pop(); c; c = cleanups.pop()) {
      try {
        await c();
      } catch (e) {
        log(`cleanup: ${(e as Error).message}`);
      }
    }
  };
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let codeServer: CodeServer | undefined;
  let server: ServerProcess | undefined;
  const consoleLines: string[] = [];
  try {
    mkdirSync(outDir, { recursive: true });
    // Only our own pictures go: a stale failure screenshot would mislead, other files are not ours.
    for (const f of readdirSync(outDir)) if (f.endsWith('.png')) rmSync(join(outDir, f), { force: true });

    log('building (node esbuild.mjs)');
    const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error(`build failed (${build.status ?? build.signal})`);
    if (!existsSync(join(suiteDir, 'index.js'))) throw new Error(`the build made no ${join(suiteDir, 'index.js')}`);

    const installed = installCodeServer();
    if (!installed.ok) throw new Error(installed.error);

    const tmp = mkdtempSync(join(tmpdir(), 'delegate-vscode-'));
    cleanups.push(() => removeTree(tmp));
    // The server's data dir lives inside: its sandbox user (not root) must be able to traverse.
    chmodSync(tmp, 0o711);
    const suiteWorkspace = join(tmp, 'workspace');
    const smokeWorkspace = join(tmp, 'smoke-workspace');
    makeTestWorkspace(suiteWorkspace);
    makeTestWorkspace(smokeWorkspace);
    const resultsFile = join(tmp, 'suite-results.json');

    const fakeModel = await startFakeModel();
    cleanups.push(() => fakeModel.close());
    // The workspaces' origin is a repository on the fake GitHub, so pull requests have somewhere to go.
    const githubToken = `ghp_${randomBytes(18).toString('hex')}`;
    // The token VS Code's (stand-in) GitHub sign-in hands out is octo's; hubot is another teammate.
    const hubotToken = `ghp_${randomBytes(18).toString('hex')}`;
    const github = await startFakeGitHub({ token: githubToken, users: { [githubToken]: { login: 'octo', id: 1001 }, [hubotToken]: { login: 'hubot', id: 1002 } } });
    cleanups.push(() => github.close());
    await publishToFakeGitHub(github, suiteWorkspace, 'octo', 'demo');
    await publishToFakeGitHub(github, smokeWorkspace, 'octo', 'smoke');
    server = await startServer({
      modelBaseUrl: fakeModel.baseUrl,
      dataDir: join(tmp, 'server-data'),
      // Room for the parallel test's three tasks at once, whatever the core count.
      args: ['--github-api-url', github.apiBaseUrl, '--max-parallel', '4'],
    });
    cleanups.push(() => server?.stop());
    log(`server ${server.url} (pid ${server.pid}), model ${fakeModel.baseUrl}`);

    /** A server that admits these GitHub users (--github-allow) beside its own admin token. */
    const startTeamServer = async (allow: string): Promise<{ url: string; adminToken: string }> => {
      const team = await startServer({
        modelBaseUrl: fakeModel.baseUrl,
        dataDir: mkdtempSync(join(tmp, 'team-server-')),
        args: ['--github-api-url', github.apiBaseUrl, '--github-allow', allow],
      });
      cleanups.push(() => team.stop());
      return { url: team.url, adminToken: team.token };
    };
    const control = await startControlServer(
      {
        restartServer: async () => {
          const old = server!;
          await old.kill();
          server = await old.restart();
          return { url: server.url };
        },
        readBranch: (owner, repo, branch) => github.readBranch(owner, repo, branch),
        pulls: () => github.pulls,
        startServerWithoutModel: async () => {
          const other = await startServer({
            dataDir: mkdtempSync(join(tmp, 'server-without-model-')),
            token: server!.token,
            args: ['--github-api-url', github.apiBaseUrl],
          });
          cleanups.push(() => other.stop());
          return { url: other.url };
        },
        startTeamServer,
      },
      log,
    );
    cleanups.push(() => control.close());

    codeServer = await startCodeServer({
      install: installed.install,
      extensionsDir: extensionsWithFakeGitHubSignIn(tmp),
      env: {
        DELEGATE_TEST_SERVER_URL: server.url,
        DELEGATE_TOKEN: server.token,
        DELEGATE_TEST_MODEL_CONTROL_URL: fakeModel.controlUrl,
        DELEGATE_TEST_CONTROL_URL: control.url,
        DELEGATE_TEST_WORKSPACE: suiteWorkspace,
        DELEGATE_TEST_RESULTS: resultsFile,
        DELEGATE_TEST_GITHUB_TOKEN: githubToken,
        DELEGATE_TEST_GITHUB_OTHER_TOKEN: hubotToken,
        DELEGATE_TEST_GITHUB_URL: github.url,
        // The Node that runs the server here (code-server's own Node is another major version).
        DELEGATE_TEST_NODE: process.execPath,
        ...(args.grep ? { DELEGATE_TEST_GREP: args.grep } : {}),
      },
      userSettings: { 'delegate.serverUrl': server.url, 'delegate.autoStartServer': false },
    });
    cleanups.push(() => codeServer?.stop());
    log(`code-server ${codeServer.url} (pid ${codeServer.pid})`);

    const browser: Browser = await launchBrowser();
    cleanups.push(() => browser.close());

    if (args.suite) {
      results.push(...(await runSuite(browser, codeServer, suiteWorkspace, resultsFile, consoleLines)));
    }
    if (args.smoke) {
      // The suite's tasks would crowd the queue in the smoke's screenshots: the smoke starts empty.
      await removeAllTasks(server);
      results.push(
        ...(await runSmoke({
          browser,
          codeServerUrl: codeServer.url,
          workspace: smokeWorkspace,
          extensionPath: repoRoot,
          outDir,
          fakeModel,
          github,
          githubRepo: { owner: 'octo', repo: 'smoke' },
          delegateInBackground: (prompt) => createLocalTask(server!, smokeWorkspace, prompt),
          removeElsewhere: (prompt) => removeTaskWithPrompt(server!, prompt),
          log,
          onConsole: (line) => consoleLines.push(line),
        })),
      );
      results.push(
        ...(await runTeamSmoke({
          browser,
          codeServerUrl: codeServer.url,
          extensionPath: repoRoot,
          outDir,
          workspace: join(tmp, 'team-workspace'),
          startTeamServer,
          remoteUrl: `${github.url}/octo/demo.git`,
          tokens: { octo: githubToken, hubot: hubotToken },
          fakeModel,
          log,
          onConsole: (line) => consoleLines.push(line),
        })),
      );
    }
  } catch (e) {
    results.push({ title: 'vscode harness', ok: false, message: (e as Error).stack ?? String(e) });
  }

  const failed = results.filter((r) => !r.ok);
  if (args.docsImages && args.smoke && failed.length === 0) {
    for (const [from, to] of Object.entries(DOCS_IMAGES)) cpSync(join(outDir, from), join(repoRoot, 'docs', 'images', to));
    log(`docs/images: ${Object.values(DOCS_IMAGES).join(', ')}`);
  }
  if (failed.length > 0) {
    printTail('workbench console', consoleLines, 150);
    if (codeServer) printTail('code-server output', codeServer.logs().split('\n'), 80);
    if (codeServer) printExtensionHostLogs(codeServer.userDataDir);
    if (server) printTail('delegate-server output', server.logs().split('\n'), 80);
  }
  await cleanup();

  const stats = {
    passed: results.length - failed.length,
    failed: failed.length,
    pending: 0,
    failures: failed.map((r) => ({ title: r.title, message: r.message ?? 'failed' })),
  };
  if (process.env.DELEGATE_TEST_STATS) writeFileSync(process.env.DELEGATE_TEST_STATS, JSON.stringify(stats));
  for (const f of stats.failures) console.log(`  ✗ ${f.title}: ${f.message}`);
  console.log(`vscode: ${stats.passed} passed, ${stats.failed} failed`);
  return stats.failed > 0 || stats.passed === 0 ? 1 : 0;
}

/** Loads the workbench with the extension under development and its tests; returns one result per test. */
async function runSuite(browser: Browser, cs: CodeServer, workspace: string, resultsFile: string, consoleLines: string[]): Promise<TestResult[]> {
  log('running the extension test suite inside the extension host');
  const url = workbenchUrl(cs.url, workspace, { extensionPath: repoRoot, testsPath: suiteDir });
  const wb = await openWorkbench(browser, url, (line) => {
    consoleLines.push(line);
    const at = line.indexOf(LINE_PREFIX);
    if (at >= 0) console.log(line.slice(at + LINE_PREFIX.length));
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), suiteTimeoutMs)));
  const code = await Promise.race([wb.exited, timedOut]);
  clearTimeout(timer);
  if (code === 'timeout') {
    const shot = join(outDir, 'suite-timeout.png');
    await wb.page.screenshot({ path: shot }).catch(() => undefined);
    await wb.page.context().close().catch(() => undefined);
    return [{ title: 'vscode suite', ok: false, message: `the suite did not finish within ${suiteTimeoutMs} ms (screenshot ${shot})` }];
  }
  await wb.page.context().close().catch(() => undefined);

  if (!existsSync(resultsFile)) {
    return [{ title: 'vscode suite', ok: false, message: `the workbench exited with ${code} but the suite wrote no results (did it load? see the console above)` }];
  }
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as SuiteResults;
  const out: TestResult[] = [];
  for (const title of r.passedTitles) out.push({ title, ok: true });
  for (const f of r.failures) out.push({ title: f.title, ok: false, message: f.message });
  if (r.pending > 0) out.push({ title: 'vscode suite', ok: false, message: `${r.pending} pending tests: finish or remove them` });
  // A failure mocha did not attribute to a test (e.g. a hook or a load error) still fails the tier.
  if (code !== 0 && r.failures.length === 0) out.push({ title: 'vscode suite', ok: false, message: `the workbench exited with ${code}` });
  return out;
}

/**
 * An extensions folder holding only the stand-in for VS Code's GitHub sign-in (which needs
 * github.com): installed under the built-in's identifier with a higher version, it replaces it,
 * so "Create Pull Request" signs in through vscode.authentication and gets the fake's token.
 */
function extensionsWithFakeGitHubSignIn(tmp: string): string {
  const source = join(repoRoot, 'test', 'vscode', 'fakeGitHubAuth');
  const { publisher, name, version } = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as Record<string, string>;
  const dir = join(tmp, 'extensions');
  cpSync(source, join(dir, `${publisher}.${name}-${version}`), { recursive: true });
  return dir;
}

async function serverCall(server: ServerProcess, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

async function removeAllTasks(server: ServerProcess): Promise<void> {
  const { tasks } = (await serverCall(server, 'GET', '/v1/tasks')) as { tasks: { id: string }[] };
  for (const t of tasks) await serverCall(server, 'DELETE', `/v1/tasks/${encodeURIComponent(t.id)}`);
}

async function removeTaskWithPrompt(server: ServerProcess, prompt: string): Promise<void> {
  const { tasks } = (await serverCall(server, 'GET', '/v1/tasks')) as { tasks: { id: string; prompt: string }[] };
  const task = tasks.find((t) => t.prompt === prompt);
  if (!task) throw new Error(`no task "${prompt}" on the server`);
  await serverCall(server, 'DELETE', `/v1/tasks/${encodeURIComponent(task.id)}`);
}

/** A task on a repository of this machine, delegated through the REST API as another client would. */
async function createLocalTask(server: ServerProcess, repo: string, prompt: string): Promise<void> {
  await serverCall(server, 'POST', '/v1/tasks', { prompt, repo: { kind: 'local', path: repo } });
}

/**
 * Makes the fake GitHub's `owner/name` hold exactly the workspace's `main` and points the
 * workspace's `origin` at it, as if the user had cloned it from there.
 */
async function publishToFakeGitHub(github: FakeGitHub, workspace: string, owner: string, name: string): Promise<void> {
  const { remoteUrl, dir } = await github.createRepo(owner, name, { 'README.md': 'placeholder\n' });
  const git = (...args: string[]): void => {
    const r = spawnSync('git', ['-C', workspace, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('push', '-q', '--force', dir, 'main:main');
  git('remote', 'add', 'origin', remoteUrl);
  // What a fetch would record, without needing the token for it.
  git('update-ref', 'refs/remotes/origin/main', 'main');
  git('branch', '-q', '--set-upstream-to=origin/main', 'main');
}

/** Removes a temp tree, first detaching any mount a killed server's sandbox left inside it. */
function removeTree(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function printTail(title: string, lines: string[], n: number): void {
  console.log(`\n--- ${title} (last ${Math.min(n, lines.length)} of ${lines.length} lines) ---`);
  for (const l of lines.slice(-n)) console.log(l);
}

/** The extension host's own log files: activation errors land there, not on the page. */
function printExtensionHostLogs(userDataDir: string): void {
  const found = spawnSync('find', [join(userDataDir, 'logs'), '-name', '*.log', '-path', '*exthost*'], { encoding: 'utf8' });
  const ours = (f: string): boolean => /exthost\.log$|delegate/i.test(f);
  for (const file of (found.stdout ?? '').split('\n').filter(ours)) {
    const text = readFileSync(file, 'utf8').trim();
    if (text) printTail(file.slice(userDataDir.length + 1), text.split('\n'), 60);
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e);
    process.exit(1);
  },
);
