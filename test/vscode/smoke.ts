// UI smoke test: the whole flow once, the way a person does it, in the real workbench through
// Chromium: select code, "Delegate: Delegate Task…" from the command palette, watch the queue,
// answer the agent's question in the task panel, review the changed file with the CodeLens above
// each hunk, and open a pull request from the panel (signing in through VS Code's GitHub
// authentication API). A screenshot of each stage goes to test-output/vscode/. DOM checks stay
// few and lean on what users see (aria labels, text); the details are tested through the API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, FrameLocator, Locator, Page } from 'playwright-core';
import type { FakeModel } from '../support/fakeModel';
import type { FakeGitHub } from '../support/githubDouble';
import { checkpointSteps } from './smokeCheckpoints';
import * as script from './smokeScript';
import { byHeight, escapeRegExp, expandTask, lens, noBanner, openPanelOf, quickOpen, reloadWorkbench, runFromPalette, showNotifications, waitFor } from './smokeUi';
import { openWorkbench, workbenchUrl } from './workbench';

export interface TestResult { title: string; ok: boolean; message?: string }

export interface SmokeOptions {
  browser: Browser;
  codeServerUrl: string;
  workspace: string;
  extensionPath: string;
  outDir: string;
  fakeModel: Pick<FakeModel, 'setScript'>;
  /** Where the smoke workspace's origin lives: the pull request is checked there. */
  github: Pick<FakeGitHub, 'pulls' | 'readBranch'>;
  githubRepo: { owner: string; repo: string };
  /** Delegates the queue's two other tasks through the REST API. */
  delegateInBackground(prompt: string): Promise<void>;
  /** Removes the task with this prompt through the REST API, as another client would. */
  removeElsewhere(prompt: string): Promise<void>;
  log(line: string): void;
  onConsole(line: string): void;
}

export interface SmokeStep { title: string; run(page: Page): Promise<void> }
type Step = SmokeStep;

const CHANGED_FILE = 'math.js';

export async function runSmoke(opts: SmokeOptions): Promise<TestResult[]> {
  opts.log('smoke: driving the workbench UI');
  opts.fakeModel.setScript('default', script.smokeDefaultScript());
  const original = readFileSync(join(opts.workspace, 'src', 'math.js'), 'utf8');
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(opts.outDir, name) });
  const sidebar = (page: Page): Locator => page.locator('.part.sidebar');
  const row = (page: Page, text: string): Locator => sidebar(page).locator('.monaco-list-row', { hasText: text }).first();
  // Rows show a short label (the prompt's first words); the full prompt is in the tooltip.
  const taskRow = (page: Page): Locator => row(page, script.mainPrompt.slice(0, 16));
  const fileRow = (page: Page): Locator => row(page, CHANGED_FILE);
  const panel = (page: Page): FrameLocator => page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
  const notification = (page: Page, text: string | RegExp): Locator =>
    page.locator('.notifications-center .notification-list-item-message', { hasText: text }).first();
  const modifiedSide = (page: Page): Locator => page.locator('.monaco-diff-editor .editor.modified').first();
  let pullNumber = 0;

  const steps: Step[] = [
    {
      title: 'the workbench loads with the Delegate view container in the activity bar',
      run: async (page) => {
        await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
        await page.locator('.part.activitybar [aria-label^="Delegate"]').first().waitFor({ timeout: 60_000 });
      },
    },
    {
      title: 'clicking Delegate in the activity bar shows the task queue',
      run: async (page) => {
        await page.locator('.part.activitybar [aria-label^="Delegate"]').first().click();
        // A container with one view merges the titles ("Delegate: Tasks"); with more, each view has a pane header.
        await sidebar(page).locator('.composite.title, .pane-header', { hasText: /tasks/i }).first().waitFor({ timeout: 20_000 });
        // Connected, with nothing in the queue: the view's welcome text.
        await sidebar(page).getByText('No tasks yet', { exact: false }).first().waitFor({ timeout: 60_000 });
        await shot(page, 'queue-empty.png');
      },
    },
    {
      title: 'select code in src/math.js, then "Delegate: Delegate Task…" from the command palette takes a prompt',
      run: async (page) => {
        await quickOpen(page, 'src/math.js');
        await page.locator('.editor-instance .view-lines', { hasText: 'function mul' }).first().waitFor({ timeout: 20_000 });
        // From the top of the file down to the end of mul: add, sub and mul.
        await page.locator('.editor-instance .view-lines').first().click({ position: { x: 5, y: 5 } });
        await page.keyboard.press('Control+Home');
        for (let i = 0; i < 11; i++) await page.keyboard.press('Shift+ArrowDown');
        await runFromPalette(page, 'Delegate: Delegate Task');
        // The palette's own input holds ">…"; the command's prompt is a new, empty quick input.
        await page.waitForFunction(() => {
          const input = document.querySelector<HTMLInputElement>('.quick-input-widget input.input');
          return !!input && input.offsetParent !== null && !input.value.startsWith('>');
        }, undefined, { timeout: 20_000 });
        await page.locator('.quick-input-widget', { hasText: 'With the selection in src/math.js' }).waitFor({ timeout: 10_000 });
        await page.keyboard.type(script.mainPrompt);
        await shot(page, 'prompt.png');
        await page.keyboard.press('Enter');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 20_000 }).catch(async () => {
          const title = await page.locator('.quick-input-widget').innerText().catch(() => '');
          throw new Error(`the quick input stayed open after the prompt: ${title.replace(/\s+/g, ' ').slice(0, 300)}`);
        });
      },
    },
    {
      title: 'the new task comes into view at once: the panel shows it and its queue row is selected',
      run: async (page) => {
        await panel(page).locator('h2', { hasText: script.mainPrompt }).waitFor({ timeout: 30_000 });
        await taskRow(page).and(page.locator('[aria-selected="true"]')).waitFor({ timeout: 20_000 });
        await shot(page, 'new-task-in-view.png');
      },
    },
    {
      title: 'the task runs in the queue next to two others',
      run: async (page) => {
        for (const t of script.backgroundTasks) await opts.delegateInBackground(t.prompt);
        await taskRow(page).waitFor({ timeout: 30_000 });
        for (const t of script.backgroundTasks) await row(page, t.prompt.slice(0, 16)).waitFor({ timeout: 30_000 });
        // All three active at once: spinning (preparing, running) or, for ours, already asking.
        await waitFor(async () => (await sidebar(page).locator('.monaco-list-row').locator('.codicon-loading, .codicon-question').count()) >= 3,
          60_000, 'three active tasks in the queue');
        // At the default sidebar width each task row shows its whole short label and its description.
        const clipped = await sidebar(page).locator('.monaco-list-row[aria-level="1"] .monaco-icon-label-container')
          .evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent ?? ''));
        if (clipped.length) throw new Error(`queue rows cut off at the default sidebar width: ${clipped.join(' | ')}`);
        await shot(page, 'queue-running.png');
      },
    },
    {
      title: 'the agent asks a question: a notification, and the question in the task panel',
      run: async (page) => {
        await taskRow(page).locator('.codicon-question').waitFor({ timeout: 120_000 });
        await expandTask(taskRow(page), fileRow(page));
        // With the smoke-test driver on (needed to load the extension) VS Code shows no toasts:
        // notifications only reach the notification center, so that is where we look.
        await showNotifications(page, true);
        // The notification names the task that asks (several may run at once), with the agent's
        // suggested answers as buttons and a way to type another.
        await notification(page, new RegExp(`^Delegate: "${script.mainPrompt.slice(0, 20)}[^"]*" asks: ${escapeRegExp(script.question)}`)).waitFor({ timeout: 30_000 });
        const asked = page.locator('.notifications-center .notification-list-item', { hasText: script.question }).first();
        for (const label of [...script.choices, 'Other Answer…']) await asked.getByRole('button', { name: label, exact: true }).waitFor({ timeout: 10_000 });
        await shot(page, 'question.png');
        await showNotifications(page, false);
        await openPanelOf(page, taskRow(page), script.mainPrompt);
        const question = panel(page).locator('.item.question', { hasText: script.question }).first();
        await question.waitFor({ timeout: 30_000 });
        for (const label of script.choices) await question.getByRole('button', { name: label, exact: true }).waitFor({ timeout: 10_000 });
        await shot(page, 'panel-question.png');
      },
    },
    {
      title: 'a suggested answer\'s button in the panel answers, and the task finishes with its summary and test result',
      run: async (page) => {
        await panel(page).locator('.item.question').first().getByRole('button', { name: script.answer, exact: true }).click();
        await panel(page).locator('.badge', { hasText: 'completed' }).waitFor({ timeout: 120_000 });
        await panel(page).locator('.item.finished', { hasText: script.summary }).waitFor({ timeout: 10_000 });
        await panel(page).locator('.item.user', { hasText: script.answer }).waitFor({ timeout: 10_000 });
        await shot(page, 'panel-completed.png');
      },
    },
    {
      title: 'clicking the changed file opens the review diff with Accept / Reject above each hunk',
      run: async (page) => {
        await expandTask(taskRow(page), fileRow(page));
        await fileRow(page).click();
        await modifiedSide(page).locator('.view-lines', { hasText: 'mul expects two numbers' }).waitFor({ timeout: 30_000 });
        await waitFor(async () => (await lens(page, 'Accept').count()) === 2 && (await lens(page, 'Reject').count()) === 2, 30_000,
          'two Accept and two Reject CodeLens links on the agent\'s side');
        await shot(page, 'review-diff.png');
      },
    },
    {
      title: 'clicking Accept on the first hunk and Reject on the second records both',
      run: async (page) => {
        // Lenses sit in view zones whose DOM order says nothing about lines: go by position.
        // While VS Code swaps a view zone's lenses the old and new widgets can both be in the DOM for
        // a moment, so wait for the settled state: exactly one of each.
        await byHeight(lens(page, 'Accept'), 'top').then((l) => l.click());
        await waitFor(async () => (await lens(page, 'Accepted').count()) === 1 && (await lens(page, 'Accept').count()) === 1,
          20_000, 'one Accepted and one Accept lens after accepting the first hunk');
        await byHeight(lens(page, 'Reject'), 'bottom').then((l) => l.click());
        await waitFor(async () => (await lens(page, 'Rejected').count()) === 1 && (await lens(page, 'Accepted').count()) === 1
          && (await lens(page, 'Accept').count()) === 1 && (await lens(page, 'Reject').count()) === 1,
          20_000, 'Accepted on one hunk and Rejected on the other');
        const decided = await byHeight(modifiedSide(page).locator('.codelens-decoration'), 'top');
        const text = (await decided.innerText()).replace(/\s+/g, ' ');
        if (!/Accepted/.test(text) || /Rejected/.test(text)) throw new Error(`the first hunk's lenses say "${text}"`);
        // The rejected hunk's line is struck through; the accepted one's is not.
        await waitFor(async () => {
          // A line's tokens are separate spans, each carrying the decoration: judge whole lines.
          const struck = await modifiedSide(page).locator('.view-lines .view-line').evaluateAll((lines) =>
            lines.filter((l) => Array.from(l.querySelectorAll('span')).some((e) => getComputedStyle(e).textDecorationLine.includes('line-through')))
              .map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' '))); // the editor renders spaces as nbsp
          return struck.some((t) => t.includes('mul expects two numbers')) && !struck.some((t) => t.includes('add expects two numbers'));
        }, 20_000, 'the rejected hunk (and only it) struck through');
        await shot(page, 'review-decided.png');
      },
    },
    {
      title: 'Review in the panel opens the changed files in one multi-file diff editor, with the CodeLens',
      run: async (page) => {
        await page.locator('.tabs-container .tab', { hasText: 'Delegate' }).first().click();
        await panel(page).getByRole('button', { name: 'Review', exact: true }).click();
        await page.locator('.tabs-container .tab', { hasText: 'Review: ' }).first().waitFor({ timeout: 30_000 });
        await waitFor(async () => (await page.locator('.editor-group-container .codelens-decoration', { hasText: 'Rejected' }).count()) >= 1,
          30_000, 'the CodeLens (with the rejected hunk) in the multi-file diff editor');
        await shot(page, 'review-multi-diff.png');
      },
    },
    {
      title: 'Pull Request in the panel signs in to GitHub and opens a PR with exactly the accepted hunk',
      run: async (page) => {
        await page.locator('.tabs-container .tab', { hasText: 'Delegate' }).first().click();
        await panel(page).getByRole('button', { name: 'Pull Request', exact: true }).click();
        // First a preview of what the pull request will hold: its title and the hunks it takes.
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.filter({ hasText: 'Create this pull request?' }).waitFor({ timeout: 30_000 });
        const detail = (await dialog.innerText()).replace(/\s+/g, ' ');
        if (!detail.includes('src/math.js — 1 of 2 hunks') || !detail.includes(`Title: ${script.mainPrompt}`)) throw new Error(`the preview says: ${detail}`);
        await shot(page, 'pull-request-preview.png');
        await dialog.getByRole('button', { name: 'Create Pull Request' }).click();
        // VS Code asks whether the extension may use the GitHub account. Declining says what is
        // needed, with a way to sign in (not the raw "User did not consent to login.").
        const allow = dialog.getByRole('button', { name: 'Allow' });
        await allow.waitFor({ timeout: 60_000 });
        await shot(page, 'pull-request-sign-in.png');
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        await showNotifications(page, true);
        const signedOut = page.locator('.notifications-center .notification-list-item', { hasText: 'you are not signed in' }).first();
        await signedOut.waitFor({ timeout: 30_000 });
        if (await page.locator('.notifications-center', { hasText: 'did not consent' }).count()) throw new Error('the raw sign-in error shows');
        await shot(page, 'pull-request-signed-out.png');
        await signedOut.getByRole('button', { name: 'Sign In' }).click();
        // The consent dialog is modal: the notification center closes once it is answered.
        await allow.waitFor({ timeout: 60_000 });
        await allow.click();
        await showNotifications(page, false);
        const opened = panel(page).locator('.item.pr');
        await opened.waitFor({ timeout: 60_000 });
        await panel(page).getByRole('button', { name: /^PR #\d+$/ }).waitFor({ timeout: 30_000 });
        await shot(page, 'pull-request.png');
        await showNotifications(page, true);
        await notification(page, /opened pull request #\d+/).waitFor({ timeout: 30_000 });
        await shot(page, 'pull-request-notification.png');
        await showNotifications(page, false);
        const pull = opts.github.pulls.find((p) => p.repo === opts.githubRepo.repo);
        if (!pull) throw new Error(`the fake GitHub has no pull request on ${opts.githubRepo.owner}/${opts.githubRepo.repo}`);
        pullNumber = pull.number;
        if (!pull.body?.includes(script.summary)) throw new Error(`the PR body lacks the summary:\n${pull.body}`);
        const branch = await opts.github.readBranch(opts.githubRepo.owner, opts.githubRepo.repo, pull.head);
        const expected = original.replace('function add(a, b) {\n', `function add(a, b) {\n${script.addCheck}\n`);
        if (expected === original) throw new Error('the smoke workspace\'s math.js is not what the script patches');
        if (branch?.files['src/math.js'] !== expected) {
          throw new Error(`branch ${pull.head} does not hold exactly the accepted hunk:\n${branch?.files['src/math.js']}`);
        }
        opts.log(`smoke: pull request #${pullNumber} on ${pull.head}`);
      },
    },
    {
      title: 'after a reload the restored panel shows the task again, without an error banner',
      run: async (page) => {
        await reloadWorkbench(page);
        await page.locator('.tabs-container .tab', { hasText: 'Delegate' }).first().click({ timeout: 60_000 });
        await panel(page).locator('h2', { hasText: script.mainPrompt }).waitFor({ timeout: 60_000 });
        await noBanner(panel(page));
      },
    },
    {
      title: 'a task removed elsewhere takes the panel to a new prompt, and a reload keeps it there without a banner',
      run: async (page) => {
        await opts.removeElsewhere(script.mainPrompt);
        await panel(page).locator('h2', { hasText: 'New task' }).waitFor({ timeout: 30_000 });
        await noBanner(panel(page));
        await reloadWorkbench(page);
        await panel(page).locator('h2', { hasText: 'New task' }).waitFor({ timeout: 60_000 });
        await noBanner(panel(page));
        await shot(page, 'panel-after-reload.png');
      },
    },
    ...checkpointSteps({ panel, row, shot, delegateInBackground: (prompt) => opts.delegateInBackground(prompt) }),
  ];

  const url = workbenchUrl(opts.codeServerUrl, opts.workspace, { extensionPath: opts.extensionPath });
  const wb = await openWorkbench(opts.browser, url, opts.onConsole);
  try {
    return await runSteps(wb.page, steps, opts.log, join(opts.outDir, 'smoke-failure.png'));
  } finally {
    await wb.page.context().close().catch(() => undefined);
  }
}

/**
 * Runs the steps in order; after one fails (screenshot to `failureShot`) the rest are reported as
 * not reached, each a result of its own.
 */
export async function runSteps(page: Page, steps: readonly Step[], log: (line: string) => void, failureShot: string): Promise<TestResult[]> {
  const results: TestResult[] = [];
  let blockedBy: string | undefined;
  for (const step of steps) {
    const title = `smoke: ${step.title}`;
    if (blockedBy) {
      results.push({ title, ok: false, message: `not reached: "${blockedBy}" failed` });
      continue;
    }
    try {
      await step.run(page);
      log(`✓ ${title}`);
      results.push({ title, ok: true });
    } catch (e) {
      await page.screenshot({ path: failureShot }).catch(() => undefined);
      const message = `${(e as Error).message.split('\n')[0]} (screenshot ${failureShot})`;
      log(`✗ ${title}: ${message}`);
      results.push({ title, ok: false, message });
      blockedBy = step.title;
    }
  }
  return results;
}
