// The UI smoke's checkpoint steps (#19): a task of two file-changing turns shows a marker on each
// turn in the panel; "View changes" on the first opens the multi-file diff editor as of that turn;
// "Follow up from here" asks first (a modal), takes the message, and the panel then says the
// workspace was set back, with the later checkpoint still there, marked undone. The palette's
// "Go to Checkpoint…" gets there without the panel.
import type { FrameLocator, Locator, Page } from 'playwright-core';
import type { SmokeStep } from './smoke';
import { checkpointTask } from './smokeScript';
import { openPanelOf, runFromPalette, waitFor } from './smokeUi';

export interface CheckpointSmokeContext {
  panel(page: Page): FrameLocator;
  row(page: Page, text: string): Locator;
  shot(page: Page, name: string): Promise<unknown>;
  delegateInBackground(prompt: string): Promise<void>;
}

export function checkpointSteps(ctx: CheckpointSmokeContext): SmokeStep[] {
  const markers = (page: Page): Locator => ctx.panel(page).locator('.item.checkpoint');
  const tab = (page: Page, text: string): Locator => page.locator('.tabs-container .tab', { hasText: text }).first();
  return [
    {
      title: 'a task with two file-changing turns shows a checkpoint marker on each turn in the panel',
      run: async (page) => {
        await ctx.delegateInBackground(checkpointTask.prompt);
        const row = ctx.row(page, checkpointTask.prompt.slice(0, 16));
        await row.waitFor({ timeout: 30_000 });
        await openPanelOf(page, row, checkpointTask.prompt);
        await ctx.panel(page).locator('.badge', { hasText: 'completed' }).waitFor({ timeout: 120_000 });
        await waitFor(async () => (await markers(page).count()) === 2, 30_000, 'two checkpoint markers');
        const texts = (await markers(page).allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
        if (!/Turn 1 · 1 file \+1 −0/.test(texts[0] ?? '') || !/Turn 2 · 2 files \+2 −0/.test(texts[1] ?? '')) throw new Error(`the markers say: ${texts.join(' | ')}`);
        // The latest is where the workspace is: a plain follow-up, no "Follow up from here".
        if ((await markers(page).nth(0).getByRole('button', { name: /^Follow up from/ }).count()) !== 1) throw new Error('the first marker has no "Follow up from here"');
        if ((await markers(page).nth(1).getByRole('button', { name: /^Follow up from/ }).count()) !== 0) throw new Error('the latest marker offers "Follow up from here"');
      },
    },
    {
      title: '"View changes" on the first checkpoint opens the multi-file diff editor with that turn\'s file only',
      run: async (page) => {
        await markers(page).nth(0).getByRole('button', { name: /^View changes/ }).click();
        await tab(page, 'Turn 1: ').waitFor({ timeout: 30_000 });
        const editor = page.locator('.editor-group-container', { has: page.locator('.tab.active', { hasText: 'Turn 1: ' }) }).first();
        await editor.locator('.monaco-editor .view-lines', { hasText: 'Adds two numbers' }).first().waitFor({ timeout: 30_000 });
        const text = await editor.innerText();
        if (!text.includes(checkpointTask.firstFile) || text.includes(checkpointTask.secondFile)) throw new Error(`the diff editor as of turn 1 lists: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
        await ctx.shot(page, 'checkpoint-changes.png');
      },
    },
    {
      title: '"Follow up from here" asks first, then sets the workspace back: the panel says so, the later checkpoint stays, undone',
      run: async (page) => {
        await tab(page, 'Delegate').click();
        await markers(page).nth(0).getByRole('button', { name: /^Follow up from/ }).click();
        const dialog = page.locator('.monaco-dialog-box').filter({ hasText: 'Follow up from turn 1?' });
        await dialog.waitFor({ timeout: 30_000 });
        const detail = (await dialog.innerText()).replace(/\s+/g, ' ');
        if (!/changes of later turns are undone/.test(detail)) throw new Error(`the confirmation says: ${detail}`);
        await dialog.getByRole('button', { name: 'Set Back and Follow Up' }).click();
        await page.locator('.quick-input-widget', { hasText: 'Follow up from turn 1' }).waitFor({ timeout: 20_000 });
        await page.keyboard.type(checkpointTask.followUp);
        await page.keyboard.press('Enter');
        await ctx.panel(page).locator('.item.restored', { hasText: 'Workspace set back to turn 1' }).waitFor({ timeout: 60_000 });
        await ctx.panel(page).locator('.item.finished', { hasText: 'Only add is commented now.' }).waitFor({ timeout: 120_000 });
        await markers(page).filter({ hasText: 'undone' }).filter({ hasText: 'Turn 2' }).waitFor({ timeout: 20_000 });
        await markers(page).filter({ hasText: 'current' }).filter({ hasText: 'Turn 1' }).waitFor({ timeout: 20_000 });
        // The header's counts follow the workspace: one file again.
        await ctx.panel(page).locator('.meta', { hasText: '1 file +1 −0' }).waitFor({ timeout: 20_000 });
        await ctx.shot(page, 'panel-checkpoints.png');
      },
    },
    {
      title: '"Delegate: Go to Checkpoint…" reaches the same without the panel: task, checkpoint, then what to do',
      run: async (page) => {
        const widget = page.locator('.quick-input-widget');
        const pick = async (text: string): Promise<void> => {
          const row = widget.locator('.monaco-list-row', { hasText: text }).first();
          await row.waitFor({ timeout: 20_000 });
          await row.click();
        };
        // Off the tabs first: the previous step's diff editor tab leaves its tooltip over the quick
        // input. Moving the mouse away was not always enough in CI: Escape closes a hover that stays.
        await page.mouse.move(24, 600);
        await page.keyboard.press('Escape');
        await page.locator('.workbench-hover-container, .monaco-hover:not(.hidden)').first().waitFor({ state: 'hidden', timeout: 10_000 });
        await runFromPalette(page, 'Delegate: Go to Checkpoint');
        await pick(checkpointTask.prompt);
        await pick('Turn 2 · 2 files');
        await pick('View Changes');
        await tab(page, 'Turn 2: ').waitFor({ timeout: 30_000 });
      },
    },
  ];
}
