// The test double itself: git smart HTTP with auth (and gzip request bodies) through real
// http-backend, and REST answers that fail loudly when a request breaks GitHub's OpenAPI schema.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Octokit } from '@octokit/rest';
import { git } from '../../support/gitHttpServer';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { makeToken } from './fixture';

const pkt = (s: string): string => (s.length + 4).toString(16).padStart(4, '0') + s;
const basic = (token: string): string => `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;

describe('github: the fake GitHub (git http-backend + OpenAPI-checked REST double)', () => {
  let fake: FakeGitHub;
  let token: string;
  let head: string;
  let tmp: string;
  before(async () => {
    token = makeToken();
    fake = await startFakeGitHub({ token });
    head = (await fake.createRepo('octo', 'tools', { 'x.txt': 'hello\n' })).commit;
    tmp = await mkdtemp(join(tmpdir(), 'fake-github-test-'));
  });
  after(async () => {
    await fake.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('clones over smart HTTP with the token and refuses without it', async () => {
    const env = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: ${basic(token)}` };
    const ok = await git(['clone', '--quiet', `${fake.url}/octo/tools.git`, join(tmp, 'ok')], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await readFile(join(tmp, 'ok', 'x.txt'), 'utf8'), 'hello\n');
    const denied = await git(['clone', '--quiet', `${fake.url}/octo/tools.git`, join(tmp, 'denied')], { env: { GIT_TERMINAL_PROMPT: '0' } });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /terminal prompts disabled|Authentication failed|401/);
  });

  it('serves a gzip-encoded upload-pack request', async () => {
    const body = pkt(`want ${head} ofs-delta\n`) + '0000' + pkt('done\n');
    const res = await fetch(`${fake.url}/octo/tools.git/git-upload-pack`, {
      method: 'POST',
      headers: { authorization: basic(token), 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' },
      body: gzipSync(body),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-git-upload-pack-result');
    const data = Buffer.from(await res.arrayBuffer());
    assert.equal(data.subarray(0, 8).toString(), '0008NAK\n');
    assert.equal(data.subarray(8, 12).toString(), 'PACK');
  });

  it('answers Octokit with schema-valid pull requests and 404s', async () => {
    const quiet = (): void => undefined;
    const octokit = new Octokit({ auth: token, baseUrl: fake.apiBaseUrl, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } });
    const list = await octokit.rest.pulls.list({ owner: 'octo', repo: 'tools', state: 'all' });
    assert.deepEqual(list.data, []);
    await assert.rejects(octokit.rest.pulls.get({ owner: 'octo', repo: 'tools', pull_number: 9 }), (e: { status?: number }) => e.status === 404);
    await assert.rejects(octokit.rest.pulls.list({ owner: 'octo', repo: 'nope' }), (e: { status?: number }) => e.status === 404);
    await assert.rejects(octokit.rest.pulls.create({ owner: 'octo', repo: 'tools', title: 't', head: 'main', base: 'main' }), (e: { status?: number; message?: string }) => e.status === 422 && /No commits between/.test(e.message ?? ''));
    assert.deepEqual(fake.schemaErrors, []);
    assert.equal(fake.requests.length, 4);
    assert.ok(fake.requests.every((r) => r.authorized));
  });

  it('fails loudly (500 + recorded error) when a request breaks the schema', async () => {
    const before = fake.schemaErrors.length;
    const bad = await fetch(`${fake.apiBaseUrl}/repos/octo/tools/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'x', head: 42, base: 'main', draft: 'yes' }),
    });
    assert.equal(bad.status, 500);
    const badQuery = await fetch(`${fake.apiBaseUrl}/repos/octo/tools/pulls?state=bogus`, { headers: { authorization: `token ${token}` } });
    assert.equal(badQuery.status, 500);
    const added = fake.schemaErrors.slice(before);
    assert.equal(added.length, 2, added.join('\n'));
    assert.match(added[0]!, /POST \/repos\/octo\/tools\/pulls request: .*\/head must be string/);
    assert.match(added[1]!, /state must be equal to one of the allowed values/);
    fake.schemaErrors.length = before;
  });

  it('answers 401 for a bad token and records it', async () => {
    const res = await fetch(`${fake.apiBaseUrl}/repos/octo/tools/pulls`, { headers: { authorization: 'token wrong' } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { message: string }).message, 'Bad credentials');
    assert.equal(fake.requests.at(-1)?.authorized, false);
    assert.ok(fake.log.every((l) => !l.includes(token)));
  });
});
