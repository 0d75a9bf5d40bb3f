// GitHub sign-in from the web page on a team server (--github-allow): the OAuth web flow through
// the GitHub double, the state checked against the browser's cookie, and a user who sees only
// their own tasks. Neither the app's secret nor the user's token reaches the server's log.
import assert from 'node:assert/strict';
import type { Task } from '../../protocol';
import { ConfigError, parseConfig } from '../../server/src/config';
import { GitHubOAuth } from '../../server/src/api/oauth';
import { createLogger, Scrubber } from '../../server/src/log';
import { api } from '../support/serverProcess';
import { startWebFixture, type WebFixture } from './fixture';

const ALICE = 'gho_' + 'a1ic3'.repeat(7);
const BOB = 'gho_' + 'b0b0b'.repeat(7);
const CAROL = 'gho_' + 'c4r01'.repeat(7);
const CLIENT_ID = 'Iv1.webtest0123';
const SECRET = 'oauth-secret-' + 'f00d'.repeat(8);

describe('web interface: GitHub sign-in', function () {
  this.timeout(120_000);
  let fx: WebFixture;

  before(async () => {
    fx = await startWebFixture({
      users: { [ALICE]: { login: 'alice', id: 11 }, [BOB]: { login: 'bob', id: 12 }, [CAROL]: { login: 'carol', id: 13 } },
      serverArgs: (github) => ['--github-allow', 'alice,bob', '--github-oauth-client-id', CLIENT_ID, '--github-web-url', github],
      env: { DELEGATE_GITHUB_OAUTH_CLIENT_SECRET: SECRET },
    });
    fx.github.oauth.addApp({ clientId: CLIENT_ID, clientSecret: SECRET, callbackUrl: `${fx.server.url}/auth/github/callback`, signedInAs: ALICE });
  });
  after(async () => {
    const problems = { foreign: fx?.browser.foreignRequests ?? [], errors: fx?.browser.pageErrors ?? [] };
    await fx?.close();
    assert.deepEqual(problems, { foreign: [], errors: [] }, 'the pages made requests beyond the server and GitHub, or failed');
  });

  /** A task that never runs far (nothing listens on port 9): it only needs to exist and have an owner. */
  async function taskAs(token: string, prompt: string): Promise<Task> {
    const res = await api<Task>({ url: fx.server.url, token }, 'POST', '/v1/tasks', { prompt, repo: { kind: 'remote', url: 'http://127.0.0.1:9/o/r.git' } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  it('signs in through GitHub and shows only that user\'s tasks', async () => {
    const mine = await taskAs(ALICE, 'Alice\'s task');
    const bobs = await taskAs(BOB, 'Bob\'s task');
    const admins = await taskAs(fx.server.token, 'The admin\'s task');
    const { page } = await fx.browser.page();
    await page.goto(`${fx.server.url}/`);
    await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
    await page.locator('#tasks-title').waitFor();
    assert.equal(page.url(), `${fx.server.url}/`, 'the code and state are gone from the address');
    const asked = fx.github.oauth.authorizations.at(-1)!;
    assert.equal(asked.client_id, CLIENT_ID);
    assert.ok((asked.state ?? '').length >= 32, 'a state goes with the request');
    assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('delegate.token'), sessionStorage.getItem('delegate.tokenKind')]), [ALICE, 'github']);
    await page.locator(`li[data-task-id="${mine.id}"]`).waitFor();
    await page.locator('[data-connection="live"]').waitFor();
    assert.equal(await page.locator(`li[data-task-id="${bobs.id}"]`).count(), 0);
    assert.equal(await page.locator(`li[data-task-id="${admins.id}"]`).count(), 0);
    // The live stream carries only hers too.
    const later = await taskAs(BOB, 'Bob again');
    const hers = await taskAs(ALICE, 'Alice again');
    await page.locator(`li[data-task-id="${hers.id}"]`).waitFor();
    assert.equal(await page.locator(`li[data-task-id="${later.id}"]`).count(), 0);
    await page.context().close();
    const logs = fx.server.logs();
    assert.ok(!logs.includes(SECRET), 'the OAuth secret reached the log');
    assert.ok(!logs.includes(ALICE), 'the user\'s token reached the log');
  });

  it('tells a GitHub user who is not on --github-allow so, and shows no tasks', async () => {
    fx.github.oauth.addApp({ clientId: CLIENT_ID, clientSecret: SECRET, callbackUrl: `${fx.server.url}/auth/github/callback`, signedInAs: CAROL });
    try {
      const { page, context } = await fx.browser.page();
      await page.goto(`${fx.server.url}/`);
      await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
      await page.locator('[role="alert"]', { hasText: 'GitHub user carol may not use this server' }).waitFor();
      assert.equal(await page.locator('ul.tasks li').count(), 0);
      await context.close();
    } finally {
      fx.github.oauth.addApp({ clientId: CLIENT_ID, clientSecret: SECRET, callbackUrl: `${fx.server.url}/auth/github/callback`, signedInAs: ALICE });
    }
  });

  it('refuses a callback whose state this browser did not start', async () => {
    // A state the server issued to another browser (this one has no cookie for it).
    const other = await fx.browser.page();
    await other.page.goto(`${fx.server.url}/auth/github/login`).catch(() => undefined);
    await other.page.locator('#tasks-title').waitFor();
    await other.context.close();
    const state = fx.github.oauth.authorizations.at(-1)!.state!;
    const { page } = await fx.browser.page();
    await page.goto(`${fx.server.url}/auth/github/callback?code=anything&state=${encodeURIComponent(state)}`);
    await page.locator('.error', { hasText: 'did not start in this browser' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('delegate.token')), null);
    assert.equal(page.url(), `${fx.server.url}/`);
    // Started in this browser, but the code is not GitHub's: the exchange fails, nothing is kept.
    const login = await fetch(`${fx.server.url}/auth/github/login`, { redirect: 'manual' });
    assert.equal(login.status, 302);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const issued = new URL(login.headers.get('location')!).searchParams.get('state')!;
    const callback = await fetch(`${fx.server.url}/auth/github/callback?code=forged&state=${encodeURIComponent(issued)}`, { headers: { cookie } });
    const html = await callback.text();
    assert.match(html, /GitHub did not finish the sign-in: The code passed is incorrect or expired/);
    assert.doesNotMatch(html, /delegate-signin-token/);
    // The state was used up: the same callback again is refused.
    const again = await (await fetch(`${fx.server.url}/auth/github/callback?code=forged&state=${encodeURIComponent(issued)}`, { headers: { cookie } })).text();
    assert.match(again, /too long or was already used/);
    await page.context().close();
  });
});

describe('web interface: the OAuth app\'s settings', () => {
  it('takes the client id with its secret from the environment, and only with --github-allow', () => {
    const env = { DELEGATE_GITHUB_OAUTH_CLIENT_SECRET: SECRET };
    const ok = parseConfig(['--github-allow', 'alice', '--github-oauth-client-id', CLIENT_ID, '--github-web-url', 'https://ghe.example/'], env);
    assert.ok(ok !== 'help');
    assert.deepEqual(ok.githubOAuth, { clientId: CLIENT_ID, clientSecret: SECRET });
    assert.equal(ok.githubWebUrl, 'https://ghe.example');
    const defaults = parseConfig([], {});
    assert.ok(defaults !== 'help');
    assert.equal(defaults.githubOAuth, undefined);
    assert.equal(defaults.githubWebUrl, 'https://github.com');
    assert.throws(() => parseConfig(['--github-allow', 'alice', '--github-oauth-client-id', CLIENT_ID], {}), (e: Error) => e instanceof ConfigError && /DELEGATE_GITHUB_OAUTH_CLIENT_SECRET/.test(e.message));
    assert.throws(() => parseConfig(['--github-oauth-client-id', CLIENT_ID], env), (e: Error) => e instanceof ConfigError && /--github-allow/.test(e.message));
    assert.throws(() => parseConfig(['--github-web-url', 'javascript:alert(1)'], {}), ConfigError);
  });
});

describe('web interface: the sign-in state', () => {
  const log = createLogger({ level: 'error', scrubber: new Scrubber(), write: () => undefined });
  const oauth = (secret = SECRET) => new GitHubOAuth({ clientId: CLIENT_ID, clientSecret: secret, webUrl: 'http://127.0.0.1:9', stateTtlMs: 60_000 });

  it('takes only a state signed with this app\'s secret, unexpired, once', async () => {
    const issuer = oauth();
    const { state } = issuer.begin(1_000);
    // Another node with the same secret checks it (the code exchange then fails: nothing listens on port 9).
    const other = await oauth().finish('code', state, state, log, 2_000);
    assert.ok(!other.ok && /could not reach/.test(other.message), JSON.stringify(other));
    const forged = state.replace(/\.[^.]+$/, '.' + 'A'.repeat(43));
    const bad = await issuer.finish('code', forged, forged, log, 2_000);
    assert.ok(!bad.ok && /did not start at this server/.test(bad.message));
    const foreign = oauth('another-secret-0123456789').begin(1_000).state;
    assert.ok(!(await issuer.finish('code', foreign, foreign, log, 2_000)).ok);
    const late = await issuer.finish('code', state, state, log, 62_000);
    assert.ok(!late.ok && /took too long/.test(late.message));
    const once = issuer.begin(1_000).state;
    assert.ok(/could not reach/.test(((await issuer.finish('code', once, once, log, 2_000)) as { message: string }).message));
    const twice = await issuer.finish('code', once, once, log, 2_000);
    assert.ok(!twice.ok && /already used/.test(twice.message));
  });
});
