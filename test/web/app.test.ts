// The web interface in a real browser (Chromium) against the real server, the scripted model and
// the GitHub double: sign-in, the list, a new task, a question, the per-hunk review and the pull
// request, and a dropped WebSocket caught up without a reload.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';
import type { Task } from '../../protocol';
import { api } from '../support/serverProcess';
import { allEvents, isDone, waitForTask } from '../support/tasks';
import { GITHUB_TOKEN, startRelay, startWebFixture, type WebFixture } from './fixture';

const PATCH = `*** Begin Patch
*** Update File: a.txt
@@
 line 2
-line 3
+line 3 ACCEPTED
 line 4
@@
 line 34
-line 35
+line 35 REJECTED
 line 36
*** End Patch`;
const finish = (summary: string) => ({ toolCalls: [{ name: 'finish', arguments: { summary } }] });
/** Screenshots for the README, written when DELEGATE_WEB_SCREENSHOTS=1. */
const SHOTS = process.env.DELEGATE_WEB_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'images') : undefined;

describe('web interface', function () {
  this.timeout(120_000);
  let fx: WebFixture;

  before(async () => {
    fx = await startWebFixture();
    fx.model.setScript('edit', [{ toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] }, finish('Changed lines 3 and 35 of a.txt.')]);
    fx.model.setScript('slow', [{ toolCalls: [{ name: 'shell', arguments: { command: 'echo working' } }], delayMs: 1500 }, { ...finish('Slowly done.'), delayMs: 1500 }]);
    fx.model.setScript('again', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo first > b.txt' } }] },
      finish('Wrote b.txt.'),
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo second >> b.txt' } }] },
      finish('Added a second line to b.txt.'),
    ]);
    fx.model.setScript('long', [{ toolCalls: [{ name: 'shell', arguments: { command: 'sleep 30' } }] }, finish('Slept.')]);
    fx.model.setScript('ask', [
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which colour should the button be?', choices: ['Blue', 'Green'] } }] },
      (req) => finish(`Painted it ${JSON.stringify(req.body).includes('Green') ? 'green' : 'some colour'}.`),
    ]);
  });
  after(async () => {
    // The list's pictures for the README, once the suite has left tasks in several states.
    if (SHOTS && fx) {
      mkdirSync(SHOTS, { recursive: true });
      const running = await remoteTask('Rename the helpers in a.txt to something clearer\n\n[[script:long]]');
      await waitForTask(fx.server, running.id, (t) => t.status === 'running', 60_000);
      const page = await signedIn();
      await page.locator(`li[data-task-id="${running.id}"][data-status="running"]`).waitFor();
      await page.screenshot({ path: join(SHOTS, 'web-tasks-light.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(SHOTS, 'web-tasks-dark.png') });
      await page.context().close();
    }
    const problems = { foreign: fx?.browser.foreignRequests ?? [], errors: fx?.browser.pageErrors ?? [] };
    await fx?.close();
    assert.deepEqual(problems, { foreign: [], errors: [] }, 'the pages made requests to other origins, or failed');
  });

  async function remoteTask(prompt: string): Promise<Task> {
    const res = await api<Task>(fx.server, 'POST', '/v1/tasks', { prompt, repo: { kind: 'remote', url: fx.remoteUrl, branch: 'main' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  async function signedIn(options: { colorScheme?: 'light' | 'dark'; base?: string } = {}): Promise<Page> {
    const { page } = await fx.browser.page(options);
    await page.goto(`${options.base ?? fx.server.url}/#token=${fx.server.token}`);
    await page.locator('#tasks-title').waitFor();
    return page;
  }

  it('signs in with the token fragment, and the token leaves the address at once', async () => {
    const { page } = await fx.browser.page();
    const response = await page.goto(`${fx.server.url}/#token=${fx.server.token}`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    await page.locator('#tasks-title').waitFor();
    assert.equal(page.url(), `${fx.server.url}/`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('delegate.token')), fx.server.token);
    await page.locator('[data-connection="live"]').waitFor();
    // Without the fragment the page asks for a token; the API itself still needs one.
    const anonymous = await fx.browser.page();
    await anonymous.page.goto(`${fx.server.url}/`);
    await anonymous.page.locator('#token').waitFor();
    assert.equal((await fetch(`${fx.server.url}/v1/tasks`)).status, 401);
    // The page is served under the same Host check as the API: a rebound DNS name gets nothing.
    const rebound = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: fx.server.port, path: '/', headers: { host: `attacker.example:${fx.server.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end();
    });
    assert.equal(rebound, 403);
    // Without an OAuth app there is no GitHub sign-in route.
    assert.equal((await fetch(`${fx.server.url}/auth/github/login`, { redirect: 'manual' })).status, 404);
    await anonymous.context.close();
    // Sign out forgets the token: the tab is back at the sign-in form.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#token').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('delegate.token')), null);
    await page.context().close();
    assert.ok(!fx.server.logs().includes(fx.server.token), 'the token reached the server log');
  });

  it('takes the page\'s token on the event stream as a subprotocol, and answers without it', async () => {
    const open = (token: string) =>
      new Promise<{ status: number; protocol?: string }>((resolve) => {
        const ws = new WebSocket(`${fx.server.url.replace(/^http/, 'ws')}/v1/events?since=0`, ['delegate', `delegate.token.${Buffer.from(token).toString('base64url')}`]);
        ws.once('open', () => {
          resolve({ status: 101, protocol: ws.protocol });
          ws.close();
        });
        ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
        ws.once('error', () => undefined);
      });
    assert.deepEqual(await open(fx.server.token), { status: 101, protocol: 'delegate' });
    assert.deepEqual(await open('not-the-token-0123456789'), { status: 401 });
  });

  it('lists tasks created through the API, newest first, with their states and line counts', async () => {
    const first = await remoteTask('Make lines 3 and 35 of a.txt louder\n\n[[script:edit]]');
    await waitForTask(fx.server, first.id, isDone, 60_000);
    const second = await remoteTask('Emphasise the two quiet lines\n\n[[script:edit]]');
    await waitForTask(fx.server, second.id, isDone, 60_000);
    const page = await signedIn();
    const rows = page.locator('ul.tasks li');
    await page.locator(`li[data-task-id="${second.id}"][data-status="completed"]`).waitFor();
    const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-task-id')));
    assert.ok(ids.indexOf(second.id) < ids.indexOf(first.id), `newest first: ${ids.join(', ')}`);
    const row = page.locator(`li[data-task-id="${first.id}"]`);
    assert.match(await row.innerText(), /ready for review[\s\S]*Make lines 3 and 35 of a\.txt louder[\s\S]*\+2 −2/);
    await page.getByRole('button', { name: /^Failed/ }).click();
    assert.equal(await page.locator(`li[data-task-id="${first.id}"]`).count(), 0);
    await page.getByRole('button', { name: /^Done/ }).click();
    await row.waitFor();
    // A phone-sized screen: nothing wider than the screen.
    const phone = await fx.browser.page({ viewport: { width: 375, height: 740 } });
    await phone.page.goto(`${fx.server.url}/#token=${fx.server.token}`);
    await phone.page.locator(`li[data-task-id="${first.id}"]`).waitFor();
    assert.equal(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'the list is wider than a phone');
    await phone.page.goto(`${fx.server.url}/#/tasks/${first.id}/review`);
    await phone.page.locator('.hunk').first().waitFor();
    assert.equal(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'the review is wider than a phone');
    await phone.context.close();
    await page.context().close();
  });

  it('creates a task from the page and shows it running, then complete', async () => {
    const page = await signedIn();
    await page.getByRole('link', { name: 'New task', exact: true }).first().click();
    await page.locator('#repo').fill(fx.remoteUrl);
    await page.locator('#branch').fill('main');
    await page.locator('#prompt').fill('Do it slowly from the web\n\n[[script:slow]]');
    await page.locator('select[name="attempts"]').selectOption('1');
    await page.locator('input[name="maxTurns"]').fill('20');
    // Keyboard: Ctrl+Enter in the prompt starts the task, as in the extension's panel.
    await page.locator('#prompt').press('Control+Enter');
    await page.waitForURL(/#\/tasks\/[^/]+$/);
    const id = decodeURIComponent(/#\/tasks\/([^/]+)$/.exec(page.url())![1]!);
    const task = await waitForTask(fx.server, id, () => true);
    assert.equal(task.repo.url, fx.remoteUrl);
    assert.equal(task.options.limits?.maxTurns, 20);
    await page.locator('section.task[data-status="running"]').waitFor({ timeout: 60_000 });
    await page.locator('section.task[data-status="completed"]').waitFor({ timeout: 60_000 });
    await page.locator('.timeline [data-kind="finished"]', { hasText: 'Slowly done.' }).waitFor();
    await page.locator('.timeline [data-kind="tool"]', { hasText: 'echo working' }).waitFor();
    await page.context().close();
  });

  it('follows up a finished task and cancels a running one from the page', async () => {
    const done = await remoteTask('Write b.txt\n\n[[script:again]]');
    await waitForTask(fx.server, done.id, (t) => t.status === 'completed', 60_000);
    const page = await signedIn();
    await page.goto(`${fx.server.url}/#/tasks/${done.id}`);
    await page.locator('.timeline [data-kind="finished"]', { hasText: 'Wrote b.txt.' }).waitFor();
    await page.locator('#message').fill('Add a second line');
    await page.getByRole('button', { name: 'Follow Up', exact: true }).click();
    await page.locator('.timeline [data-kind="user"]', { hasText: 'Add a second line' }).waitFor();
    await page.locator('.timeline [data-kind="finished"]', { hasText: 'Added a second line to b.txt.' }).waitFor({ timeout: 60_000 });
    await page.locator('section.task[data-status="completed"]').waitFor();
    const running = await remoteTask('Sleep a while\n\n[[script:long]]');
    await page.goto(`${fx.server.url}/#/tasks/${running.id}`);
    await page.locator('.timeline [data-kind="tool"]', { hasText: 'sleep 30' }).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('section.task[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    assert.equal((await waitForTask(fx.server, running.id, isDone)).status, 'cancelled');
    await page.context().close();
  });

  it('shows the attempts of a best-of-N task and switches to another', async () => {
    const res = await api<Task>(fx.server, 'POST', '/v1/tasks', { prompt: 'Two tries\n\n[[script:edit]]', repo: { kind: 'remote', url: fx.remoteUrl }, options: { attempts: 2 } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const done = await waitForTask(fx.server, res.body.id, (t) => t.status === 'completed' && (t.attempts ?? []).every((a) => a.status === 'completed'), 90_000);
    const shown = done.selectedAttempt ?? 0;
    const other = 1 - shown;
    const page = await signedIn();
    await page.goto(`${fx.server.url}/#/tasks/${done.id}`);
    await page.locator(`.attempts li[data-attempt="${shown}"][data-selected="true"]`).waitFor();
    await page.getByRole('button', { name: `Use attempt ${other + 1}` }).click();
    await page.locator(`.attempts li[data-attempt="${other}"][data-selected="true"]`).waitFor();
    assert.equal((await waitForTask(fx.server, done.id, () => true)).selectedAttempt, other);
    await page.context().close();
  });

  it('answers a question with one of its suggested answers', async () => {
    const task = await remoteTask('Paint the button\n\n[[script:ask]]');
    await waitForTask(fx.server, task.id, (t) => t.status === 'waiting_for_input', 60_000);
    const page = await signedIn();
    await page.goto(`${fx.server.url}/#/tasks/${task.id}`);
    await page.locator('.timeline [data-kind="question"]', { hasText: 'Which colour' }).waitFor();
    await page.getByRole('button', { name: 'Green', exact: true }).click();
    await page.locator('section.task[data-status="completed"]').waitFor({ timeout: 60_000 });
    await page.locator('.timeline [data-kind="user"]', { hasText: 'Green' }).waitFor();
    const answers = (await allEvents(fx.server, task.id)).filter((e) => e.type === 'user.message');
    assert.deepEqual(answers.map((e) => e.type === 'user.message' && [e.kind, e.text]), [['answer', 'Green']]);
    await page.context().close();
  });

  it('accepts one hunk and rejects another; the pull request holds exactly the accepted one', async () => {
    const task = await remoteTask('Make line 3 louder, and line 35 too\n\n[[script:edit]]');
    await waitForTask(fx.server, task.id, (t) => t.status === 'completed', 60_000);
    const page = await signedIn();
    await page.goto(`${fx.server.url}/#/tasks/${task.id}/review`);
    const hunks = page.locator('section.file[data-path="a.txt"] .hunk');
    await hunks.nth(1).waitFor();
    assert.equal(await hunks.count(), 2);
    await hunks.nth(0).getByRole('button', { name: 'Accept', exact: true }).click();
    await hunks.nth(1).getByRole('button', { name: 'Reject', exact: true }).click();
    await page.locator('.counts', { hasText: '2 hunks: 1 accepted, 1 rejected' }).waitFor();
    assert.equal(await hunks.nth(0).getAttribute('data-decision'), 'accepted');
    assert.equal(await hunks.nth(1).getAttribute('data-decision'), 'rejected');
    await page.locator('.preview-files', { hasText: 'a.txt — 1 of 2 hunks' }).waitFor();
    // The side-by-side layout renders the same hunks.
    await page.getByRole('button', { name: 'Side by side' }).click();
    await page.locator('.hunk .d2h-files-diff').first().waitFor();
    if (SHOTS) {
      await page.screenshot({ path: join(SHOTS, 'web-review-light.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: join(SHOTS, 'web-review-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
    }
    await page.getByRole('button', { name: 'Unified' }).click();
    await page.locator('#gh-token').fill(GITHUB_TOKEN);
    await page.getByRole('button', { name: 'Create Pull Request' }).click();
    await page.locator('.pr-made').waitFor({ timeout: 60_000 });
    const pr = fx.github.pulls.at(-1)!;
    assert.equal(pr.base, 'main');
    const branch = await fx.github.readBranch('octo', 'demo', pr.head);
    const a = branch?.files['a.txt'] ?? '';
    assert.match(a, /^line 3 ACCEPTED$/m);
    assert.match(a, /^line 35$/m);
    assert.doesNotMatch(a, /REJECTED/);
    assert.deepEqual(fx.github.schemaErrors, []);
    await page.context().close();
  });

  it('catches up after the WebSocket drops, without a reload', async () => {
    const relay = await startRelay(fx.server.port);
    fx.browser.allowOrigin(relay.url);
    try {
      const page = await signedIn({ base: relay.url });
      await page.locator('[data-connection="live"]').waitFor();
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      const task = await remoteTask('Finish while the page is cut off\n\n[[script:slow]]');
      await page.locator(`li[data-task-id="${task.id}"]`).waitFor();
      relay.cut(true);
      await page.locator('[data-connection="offline"]').waitFor();
      await waitForTask(fx.server, task.id, isDone, 60_000);
      relay.release();
      await page.locator(`li[data-task-id="${task.id}"][data-status="completed"]`).waitFor({ timeout: 30_000 });
      await page.locator('[data-connection="live"]').waitFor();
      assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'the page was reloaded');
      const streams = relay.requestLines.filter((l) => l.startsWith('GET /v1/events'));
      assert.ok(streams.length >= 2, streams.join('\n'));
      assert.match(streams.at(-1)!, /since=[1-9]\d*/, 'the reconnect resumes after the last event seen');
      assert.ok(streams.every((l) => !l.includes('token')), 'no token in the stream URL');
      await page.goto(`${relay.url}/#/tasks/${task.id}`);
      await page.locator('.timeline [data-kind="finished"]', { hasText: 'Slowly done.' }).waitFor();
      await page.context().close();
    } finally {
      await relay.close();
    }
  });
});
