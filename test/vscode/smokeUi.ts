// The UI smoke test's helpers: finding things in the workbench the way a person sees them
// (text, aria labels, position) and waiting for them.
import type { FrameLocator, Locator, Page } from 'playwright-core';

export async function reloadWorkbench(page: Page): Promise<void> {
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
}

/** No error banner shows in the panel, now or a moment later (a late render must not add one). */
export async function noBanner(frame: FrameLocator): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const text = await frame.locator('div.error:not([hidden])').allInnerTexts();
    if (text.length) throw new Error(`the panel shows an error banner: ${text.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A CodeLens link on the agent's side of the review diff, by its visible text (icon aside). */
export function lens(page: Page, text: string): Locator {
  return page.locator('.monaco-diff-editor .editor.modified .codelens-decoration a', { hasText: new RegExp(`^\\W*${text}$`) });
}

/** The element of `all` highest or lowest on the page. */
export async function byHeight(all: Locator, which: 'top' | 'bottom'): Promise<Locator> {
  const ys = await all.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().top));
  if (ys.length === 0) throw new Error('no such element');
  const pick = which === 'top' ? Math.min(...ys) : Math.max(...ys);
  return all.nth(ys.indexOf(pick));
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Whether `locator` becomes visible within `ms` (isVisible() alone does not wait). */
export function visibleWithin(locator: Locator, ms: number): Promise<boolean> {
  return locator.first().waitFor({ state: 'visible', timeout: ms }).then(() => true, () => false);
}

/** Opens or closes the notification center (the bell in the status bar toggles it). */
export async function showNotifications(page: Page, visible: boolean): Promise<void> {
  const center = page.locator('.notifications-center.visible');
  if ((await center.isVisible()) === visible) return;
  await page.locator('.part.statusbar [aria-label*="otification"]').first().click();
  await center.waitFor({ state: visible ? 'visible' : 'hidden', timeout: 10_000 });
}

/** Changed files are a task's children: expands the task until `child` shows (rows may move). */
export async function expandTask(taskRow: Locator, child: Locator): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await visibleWithin(child, 1_000))) {
    if (Date.now() > deadline) throw new Error('the task\'s changed file does not show under it in the queue');
    if ((await taskRow.getAttribute('aria-expanded')) === 'false') await taskRow.locator('.monaco-tl-twistie').click();
  }
}

/** Clicking a task opens its panel; falls back to the palette command if this build does not. */
export async function openPanelOf(page: Page, taskRow: Locator, title: string): Promise<void> {
  const webview = page.locator('iframe.webview.ready').first();
  const heading = page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame').locator('h2', { hasText: title });
  // The queue re-sorts as tasks change state, so a click can land on a row that just moved
  // under the pointer: check which task the panel shows, and click again if it is not ours.
  for (let attempt = 1; ; attempt++) {
    await taskRow.locator('.label-name, .monaco-icon-label').first().click();
    if (attempt === 1 && !(await visibleWithin(webview, 5_000))) await runFromPalette(page, 'Delegate: Open Task Panel');
    await webview.waitFor({ timeout: 30_000 });
    if (await visibleWithin(heading, 10_000)) return;
    if (attempt === 3) throw new Error(`the panel does not show "${title}" after ${attempt} clicks on its row`);
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function quickOpen(page: Page, path: string): Promise<void> {
  await page.keyboard.press('Control+P');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  // Whatever mode the quick input opened in, an input without a prefix searches files.
  await page.keyboard.press('Control+A');
  await page.keyboard.type(path);
  await widget.locator('.monaco-list-row', { hasText: path.split('/').pop()! }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
}

export async function runFromPalette(page: Page, commandTitle: string): Promise<void> {
  await page.keyboard.press('F1');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.type(commandTitle);
  const row = widget.locator('.monaco-list-row', { hasText: commandTitle.replace(/^[^:]*:\s*/, '') }).first();
  await row.waitFor({ timeout: 10_000 });
  await row.click();
}
