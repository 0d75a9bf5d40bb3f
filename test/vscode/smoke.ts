// UI smoke test: what a person does, done in the real workbench through Chromium. Open the
// Delegate view, delegate a task from the command palette, watch it appear in the queue, open
// its panel, open a review diff. Screenshots of each stage go to test-output/vscode/. DOM checks
// stay few and lean on what users see (aria labels, text); the rest is tested through the API.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import type { FakeModel, Step as ModelStep } from '../support/fakeModel';
import { openWorkbench, workbenchUrl } from './workbench';

export interface TestResult { title: string; ok: boolean; message?: string }

export interface SmokeOptions {
  browser: Browser;
  codeServerUrl: string;
  workspace: string;
  extensionPath: string;
  outDir: string;
  fakeModel: Pick<FakeModel, 'setScript'> | undefined;
  log(line: string): void;
  onConsole(line: string): void;
}

const prompt = 'Add a farewell function next to greet [[script:smoke]]';
const promptStart = 'Add a farewell function';
const changedFile = 'greet.js';
const addedText = 'Goodbye, ';

/** The scripted agent: one patch to src/greet.js, then finish. */
export const smokeScript: ModelStep[] = [
  {
    toolCalls: [{
      name: 'apply_patch',
      arguments: {
        patch: [
          '*** Begin Patch',
          '*** Update File: src/greet.js',
          '@@',
          ' function greet(name) {',
          '   return `Hello, ${name}`;',
          ' }',
          '+',
          '+function farewell(name) {',
          '+  return `Goodbye, ${name}`;',
          '+}',
          ' ',
          '-module.exports = { greet };',
          '+module.exports = { greet, farewell };',
          '*** End Patch',
        ].join('\n'),
      },
    }],
  },
  { toolCalls: [{ name: 'finish', arguments: { summary: 'Added farewell(name) next to greet(name).' } }] },
];

interface Step { title: string; run(page: Page): Promise<void> }

export async function runSmoke(opts: SmokeOptions): Promise<TestResult[]> {
  opts.log('smoke: driving the workbench UI');
  opts.fakeModel?.setScript('smoke', smokeScript);
  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: join(opts.outDir, name) });
  const sidebar = (page: Page): Locator => page.locator('.part.sidebar');
  const taskRow = (page: Page): Locator => sidebar(page).locator('.monaco-list-row', { hasText: promptStart }).first();
  const fileRow = (page: Page): Locator => sidebar(page).locator('.monaco-list-row', { hasText: changedFile }).first();

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
        await shot(page, 'queue-empty.png');
      },
    },
    {
      title: '"Delegate: Delegate Task…" from the command palette takes a prompt',
      run: async (page) => {
        await runFromPalette(page, 'Delegate: Delegate Task');
        // The palette's own input holds ">…"; the command's prompt is a new, empty quick input.
        await page.waitForFunction(() => {
          const input = document.querySelector<HTMLInputElement>('.quick-input-widget input.input');
          return !!input && input.offsetParent !== null && !input.value.startsWith('>');
        }, undefined, { timeout: 20_000 });
        await page.keyboard.type(prompt);
        await shot(page, 'prompt.png');
        await page.keyboard.press('Enter');
        await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 20_000 }).catch(async () => {
          const title = await page.locator('.quick-input-widget').innerText().catch(() => '');
          throw new Error(`the quick input stayed open after the prompt: ${title.replace(/\s+/g, ' ').slice(0, 300)}`);
        });
      },
    },
    {
      title: 'the task appears in the queue and its changed file streams in',
      run: async (page) => {
        await taskRow(page).waitFor({ timeout: 30_000 });
        const deadline = Date.now() + 180_000;
        while (!(await fileRow(page).isVisible())) {
          if (Date.now() > deadline) throw new Error(`no "${changedFile}" row under the task within 180 s`);
          // Changed files are the task's children: expand it once it has any.
          if ((await taskRow(page).getAttribute('aria-expanded')) === 'false') await taskRow(page).locator('.monaco-tl-twistie').click();
          await page.waitForTimeout(500);
        }
        await shot(page, 'queue.png');
      },
    },
    {
      title: 'the task panel opens and shows the task',
      run: async (page) => {
        await taskRow(page).locator('.label-name, .monaco-icon-label').first().click();
        // Webviews live in an overlay of the workbench, not inside the editor part.
        const webview = page.locator('iframe.webview.ready').first();
        if (!(await webview.isVisible({ timeout: 5_000 }).catch(() => false))) {
          const title = panelCommandTitle(opts.extensionPath);
          if (!title) throw new Error('clicking the task opened no webview, and the extension contributes no command titled "…Panel…"');
          await runFromPalette(page, title);
        }
        await webview.waitFor({ timeout: 30_000 }).catch(async () => {
          const frames = await page.locator('iframe').evaluateAll((fs) => fs.map((f) => `${f.className}`));
          throw new Error(`no webview appeared (iframes: ${JSON.stringify(frames)})`);
        });
        const content = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
        await content.getByText(promptStart).first().waitFor({ timeout: 30_000 });
        await shot(page, 'panel.png');
      },
    },
    {
      title: 'clicking a changed file opens the review diff',
      run: async (page) => {
        // Clicking the task also toggled it: make sure its files are showing again.
        if ((await taskRow(page).getAttribute('aria-expanded')) === 'false') await taskRow(page).locator('.monaco-tl-twistie').click();
        await fileRow(page).click();
        const diff = page.locator('.monaco-diff-editor').first();
        await diff.waitFor({ timeout: 30_000 });
        await diff.locator('.editor.modified .view-lines', { hasText: addedText }).waitFor({ timeout: 30_000 });
        await shot(page, 'review-diff.png');
      },
    },
  ];

  const results: TestResult[] = [];
  const url = workbenchUrl(opts.codeServerUrl, opts.workspace, { extensionPath: opts.extensionPath });
  const wb = await openWorkbench(opts.browser, url, opts.onConsole);
  try {
    let blockedBy: string | undefined;
    for (const step of steps) {
      const title = `smoke: ${step.title}`;
      if (blockedBy) {
        results.push({ title, ok: false, message: `not reached: "${blockedBy}" failed` });
        continue;
      }
      try {
        await step.run(wb.page);
        opts.log(`✓ ${title}`);
        results.push({ title, ok: true });
      } catch (e) {
        const file = join(opts.outDir, 'smoke-failure.png');
        await wb.page.screenshot({ path: file }).catch(() => undefined);
        const message = `${(e as Error).message.split('\n')[0]} (screenshot ${file})`;
        opts.log(`✗ ${title}: ${message}`);
        results.push({ title, ok: false, message });
        blockedBy = step.title;
      }
    }
  } finally {
    await wb.page.context().close().catch(() => undefined);
  }
  return results;
}

async function runFromPalette(page: Page, commandTitle: string): Promise<void> {
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 5 } }).catch(() => undefined);
  await page.keyboard.press('F1');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.type(commandTitle);
  const row = widget.locator('.monaco-list-row', { hasText: commandTitle.replace(/^[^:]*:\s*/, '') }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
}

/** A palette title ("Delegate: …Panel…") of the extension's command that opens the task panel. */
function panelCommandTitle(extensionPath: string): string | undefined {
  const manifest = JSON.parse(readFileSync(join(extensionPath, 'package.json'), 'utf8')) as {
    contributes?: { commands?: { command: string; title: string; category?: string }[] };
  };
  const cmd = manifest.contributes?.commands?.find((c) => /panel/i.test(c.title) && !/close/i.test(c.title));
  return cmd ? `${cmd.category ? `${cmd.category}: ` : ''}${cmd.title}` : undefined;
}
