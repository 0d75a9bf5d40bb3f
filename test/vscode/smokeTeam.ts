// UI smoke of a team server (#16): a workspace whose settings point the extension at a server
// started with --github-allow. (It also watches a command's output stream in, #19, on a task of
// its own: the main smoke's queue screenshot has no room for a long first command's run time.) The extension signs in with VS Code's GitHub account (the stand-in
// provider of fakeGitHubAuth hands out octo's token; VS Code's own consent dialog is clicked as a
// person would — dialogs are refused while extension tests run, so this lives here, not in the
// suite), the queue shows only octo's task although the server holds the admin's and hubot's, and
// a server that admits only hubot says so, with how to get access.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { inspectRequest, type FakeModel, type Step, type StepObject } from '../support/fakeModel';
import { runSteps, type SmokeStep, type TestResult } from './smoke';
import { openPanelOf, showNotifications, waitFor } from './smokeUi';
import { makeTestWorkspace } from './testWorkspace';
import { openWorkbench, workbenchUrl } from './workbench';

export interface TeamSmokeOptions {
  browser: Browser;
  codeServerUrl: string;
  extensionPath: string;
  outDir: string;
  /** A fresh folder for the team workspace. */
  workspace: string;
  /** Starts a server admitting these GitHub logins (comma-separated). */
  startTeamServer(allow: string): Promise<{ url: string; adminToken: string }>;
  /** A repository on the fake GitHub that remote tasks name. */
  remoteUrl: string;
  tokens: { octo: string; hubot: string };
  fakeModel: Pick<FakeModel, 'setScript'>;
  log(line: string): void;
  onConsole(line: string): void;
}

const TASKS = { admin: 'Rotate the server logs', hubot: 'Bump the package version', octo: 'Document greet with JSDoc' };
/** A task whose command prints these lines 1.5 s apart, so the panel shows them while it runs. */
const LIVE = { prompt: 'Run the checks and report', lines: ['checking add', 'checking sub', 'checking mul', 'checking greet', 'checking the exports', 'all checked'] };

/** What the model plays here: the live task runs its command; every task then just finishes. */
function teamScript(): Step[] {
  const finish: StepObject = { toolCalls: [{ name: 'finish', arguments: { summary: 'Done.' } }] };
  const command = `for w in ${LIVE.lines.map((l) => `'${l}'`).join(' ')}; do echo "$w"; sleep 1.5; done; node test.js`;
  return [
    (request) => (inspectRequest(request.api, request.body).firstUser.includes(LIVE.prompt) ? { text: 'Running the checks.', toolCalls: [{ name: 'shell', arguments: { command } }] } : finish),
    finish,
  ];
}

async function post(url: string, token: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST /v1/tasks: HTTP ${res.status} ${await res.text()}`);
}

/** The workspace's settings: the server, and the colour theme (VS Code applies a change at once). */
/** A task on the workspace's repository as a client elsewhere sends it: a git bundle, uploaded first. */
async function postBundleTask(url: string, token: string, prompt: string, workspace: string): Promise<void> {
  const git = (...args: string[]): Buffer => {
    const r = spawnSync('git', ['-C', workspace, ...args]);
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`);
    return r.stdout;
  };
  const bundle = git('bundle', 'create', '-', 'HEAD', 'main');
  const res = await fetch(`${url}/v1/bundles`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bundle) });
  if (!res.ok) throw new Error(`POST /v1/bundles: HTTP ${res.status} ${await res.text()}`);
  const { bundleId } = (await res.json()) as { bundleId: string };
  await post(url, token, { prompt, repo: { kind: 'bundle', bundleId, commit: git('rev-parse', 'HEAD').toString().trim(), name: 'team-workspace' } });
}

function pointAt(workspace: string, serverUrl: string, theme?: string): void {
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  const settings = { 'delegate.serverUrl': serverUrl, ...(theme ? { 'workbench.colorTheme': theme } : {}) };
  writeFileSync(join(workspace, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}

/**
 * What a dark theme makes hard to read in the panel (darkThemeCheck.js runs in the panel's page;
 * a file of its own so it reaches the page as written, without the test build's helpers).
 */
const DARK_THEME_CHECK = `(${readFileSync(join(__dirname, 'darkThemeCheck.js'), 'utf8').replace(/^\s*\/\/.*$/gm, '').trim()})(document.body)`;

export async function runTeamSmoke(opts: TeamSmokeOptions): Promise<TestResult[]> {
  opts.log('smoke: a team server with GitHub sign-in');
  opts.fakeModel.setScript('default', teamScript());
  const team = await opts.startTeamServer('octo,hubot');
  makeTestWorkspace(opts.workspace);
  await post(team.url, team.adminToken, { prompt: TASKS.admin, repo: { kind: 'local', path: opts.workspace } });
  await post(team.url, opts.tokens.hubot, { prompt: TASKS.hubot, repo: { kind: 'remote', url: opts.remoteUrl } });
  await postBundleTask(team.url, opts.tokens.octo, TASKS.octo, opts.workspace);
  pointAt(opts.workspace, team.url);

  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(opts.outDir, name) });
  const sidebar = (page: Page): Locator => page.locator('.part.sidebar');
  const statusItem = (page: Page, text: string | RegExp): Locator => page.locator('.part.statusbar .statusbar-item', { hasText: text }).first();
  const steps: SmokeStep[] = [
    {
      title: 'a team server asks for GitHub sign-in: the queue and the status bar say so, with a Sign In button',
      run: async (page) => {
        await page.locator('.part.activitybar [aria-label^="Delegate"]').first().click({ timeout: 60_000 });
        await sidebar(page).getByText('signs users in with GitHub', { exact: false }).first().waitFor({ timeout: 60_000 });
        await statusItem(page, 'sign in with GitHub').waitFor({ timeout: 30_000 });
        await shot(page, 'team-sign-in.png');
      },
    },
    {
      title: 'signing in with VS Code\'s GitHub account: the queue shows only the user\'s own task',
      run: async (page) => {
        await sidebar(page).getByRole('button', { name: 'Sign In with GitHub' }).first().click();
        // VS Code asks whether Delegate may use the GitHub account.
        const allow = page.locator('.monaco-dialog-box').getByRole('button', { name: 'Allow' });
        await allow.waitFor({ timeout: 60_000 });
        await allow.click();
        const rows = sidebar(page).locator('.monaco-list-row[aria-level="1"]');
        await rows.filter({ hasText: TASKS.octo.slice(0, 16) }).first().waitFor({ timeout: 60_000 });
        // Give a late row (another user's) the time to show, then count.
        await new Promise((r) => setTimeout(r, 2_000));
        const labels = await rows.allInnerTexts();
        if (labels.length !== 1) throw new Error(`the queue shows ${labels.length} tasks: ${labels.join(' | ')}`);
        await statusItem(page, /^\S*\s*Delegate/).hover();
        await page.locator('.monaco-hover', { hasText: 'as GitHub user octo' }).first().waitFor({ timeout: 10_000 });
        await shot(page, 'team-queue.png');
      },
    },
    {
      title: 'a running command streams its output into the panel, open, with a running timer; it folds when done',
      run: async (page) => {
        await postBundleTask(team.url, opts.tokens.octo, LIVE.prompt, opts.workspace);
        await openPanelOf(page, sidebar(page).locator('.monaco-list-row', { hasText: LIVE.prompt.slice(0, 16) }).first(), LIVE.prompt);
        const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
        const command = panel.locator('.item.tool', { hasText: 'node test.js' }).first();
        const live = command.locator('details[open] pre.output.live');
        // Lines show while the command still runs: seen with the first line and without the last.
        await waitFor(async () => {
          const text = await live.innerText({ timeout: 1_000 }).catch(() => '');
          return text.includes(LIVE.lines[0]!) && !text.includes(LIVE.lines.at(-1)!);
        }, 60_000, 'part of the output while the command runs');
        const timer = await command.locator('.timer').innerText();
        if (!/^\s*\d+s$/.test(timer)) throw new Error(`the running command's timer says "${timer}"`);
        await live.filter({ hasText: LIVE.lines[2]! }).waitFor({ timeout: 30_000 });
        await shot(page, 'panel-live-output.png');
        // Finished, it folds away and says how long it took.
        await command.locator('.tool-state.ok').waitFor({ timeout: 60_000 });
        await command.locator('details:not([open])').waitFor({ timeout: 10_000 });
        if (await command.locator('.timer').count()) throw new Error('a finished command still shows a running timer');
      },
    },
    {
      title: 'switched to a dark theme, the task panel reads well: theme colours, contrast, a light tab icon',
      run: async (page) => {
        pointAt(opts.workspace, team.url, 'Default Dark Modern');
        await page.locator('.monaco-workbench.vs-dark').waitFor({ timeout: 30_000 });
        await openPanelOf(page, sidebar(page).locator('.monaco-list-row', { hasText: TASKS.octo.slice(0, 16) }).first(), TASKS.octo);
        const panel = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
        await panel.locator('body.vscode-dark').waitFor({ timeout: 30_000 });
        const problems: unknown = await panel.locator('body').evaluate(DARK_THEME_CHECK);
        if (!Array.isArray(problems)) throw new Error(`the dark theme check answered ${JSON.stringify(problems)}`);
        if (problems.length) throw new Error(problems.join('; '));
        // The tab's icon is the light-stroked one made for dark themes.
        const icons = await page.locator('.tabs-container .tab', { hasText: 'Delegate' }).first().evaluate((tab) =>
          [tab, ...Array.from(tab.querySelectorAll('*'))].flatMap((e) => [getComputedStyle(e).backgroundImage, getComputedStyle(e, '::before').backgroundImage])
            .filter((image) => image.includes('url(')));
        if (!icons.some((i) => i.includes('delegate-dark.svg'))) throw new Error(`the panel's tab icon in a dark theme is ${icons.join(', ') || 'none'}`);
        await shot(page, 'team-dark.png');
      },
    },
    {
      title: 'a server that does not admit the account says who may use it and how to get access',
      run: async (page) => {
        const other = await opts.startTeamServer('hubot');
        pointAt(opts.workspace, other.url, 'Default Dark Modern');
        await statusItem(page, 'not admitted').waitFor({ timeout: 60_000 });
        await sidebar(page).getByText('did not admit your GitHub account', { exact: false }).first().waitFor({ timeout: 30_000 });
        await showNotifications(page, true);
        const refused = page.locator('.notifications-center .notification-list-item', { hasText: 'GitHub user octo may not use this server' }).first();
        await refused.waitFor({ timeout: 30_000 });
        const text = (await refused.innerText()).replace(/\s+/g, ' ');
        for (const part of ['hubot', '--github-allow', 'signed in to GitHub as octo']) {
          if (!text.includes(part)) throw new Error(`the refusal does not say "${part}": ${text}`);
        }
        await refused.getByRole('button', { name: 'Sign In with Another Account' }).waitFor({ timeout: 10_000 });
        await shot(page, 'team-refused.png');
        await showNotifications(page, false);
      },
    },
  ];

  const wb = await openWorkbench(opts.browser, workbenchUrl(opts.codeServerUrl, opts.workspace, { extensionPath: opts.extensionPath }), opts.onConsole);
  try {
    await wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    return await runSteps(wb.page, steps, opts.log, join(opts.outDir, 'smoke-team-failure.png'));
  } finally {
    await wb.page.context().close().catch(() => undefined);
  }
}
