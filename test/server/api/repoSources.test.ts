// Repositories that cannot work are refused at the door: remote URLs other than http(s) and ssh
// never reach git, and an uploaded bundle is checked whole when it arrives (issue #18.10).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitAll, git, makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';

type ErrorReply = { error: { code: string; message: string } };

describe('repository sources at the door', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let dir: string;
  before(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), 'delegate-sources-'));
  });
  after(async () => {
    await server.stop();
  });

  it('refuses remote URLs that are not http(s) or ssh before anything runs', async () => {
    const marker = join(dir, 'ran');
    const refused = [
      `ext::sh -c touch% ${marker}`,
      'ext::true',
      'fd::3',
      `-oProxyCommand=touch ${marker}`,
      'file:///etc',
      '/etc',
      'git://example.invalid/r.git',
      'ssh://-oProxyCommand=x/r.git',
      'git@example.invalid:-oProxyCommand=x',
      'https://example.invalid/a b.git',
      'https://user:secret@example.invalid/r.git',
      'ssh://git:secret@example.invalid/r.git',
    ];
    for (const url of refused) {
      const res = await api<ErrorReply>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'remote', url } });
      assert.equal(res.status, 422, `${url} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /^repo\.url: (only http\(s\) and ssh remotes are supported|credentials in the URL are refused)/, res.body.error.message);
    }
    const list = await api<{ tasks: unknown[] }>(server, 'GET', '/v1/tasks');
    assert.deepEqual(list.body.tasks, []);
    assert.equal(existsSync(marker), false);
  });

  it('accepts http(s), ssh:// and scp-like ssh remotes', async () => {
    for (const url of ['https://example.invalid/o/r.git', 'http://127.0.0.1:9/o/r.git', 'ssh://git@example.invalid:2222/o/r.git', 'ssh://alice@example.invalid/o/r.git', 'git@example.invalid:o/r.git', 'example.invalid:/srv/r.git']) {
      const res = await api<{ id: string }>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'remote', url } });
      assert.equal(res.status, 201, `${url} → ${res.status} ${JSON.stringify(res.body)}`);
      await api(server, 'DELETE', `/v1/tasks/${res.body.id}`);
    }
  });

  it('checks an uploaded bundle whole: garbage, a damaged pack or a bare header gets 422 and is not kept', async () => {
    const repo = join(dir, 'repo');
    makeRepo(repo, { 'a.txt': 'a\n' });
    git(repo, 'bundle', 'create', join(dir, 'full.bundle'), 'HEAD');
    const full = readFileSync(join(dir, 'full.bundle'));
    const packStart = full.indexOf('\n\n') + 2;
    const flipped = Buffer.from(full);
    flipped[packStart + 30] = flipped[packStart + 30]! ^ 0xff;
    const bad: [string, Buffer][] = [
      ['garbage', Buffer.from('this is not a bundle at all')],
      ['a header and a fake pack', Buffer.concat([full.subarray(0, packStart), Buffer.from('PACK'), Buffer.alloc(40)])],
      ['a header alone', full.subarray(0, packStart)],
      ['a truncated bundle', full.subarray(0, full.length - 10)],
      ['a flipped byte in the pack', flipped],
    ];
    for (const [what, body] of bad) {
      const res = await api<ErrorReply>(server, 'POST', '/v1/bundles', new Uint8Array(body), { 'content-type': 'application/octet-stream' });
      assert.equal(res.status, 422, `${what} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, /not (a|a usable) git bundle/);
    }
    const kept = existsSync(join(server.dataDir, 'bundles')) ? readdirSync(join(server.dataDir, 'bundles')) : [];
    assert.deepEqual(kept, []);
  });

  it('accepts a full bundle and one that builds on commits the server may already have', async () => {
    const repo = join(dir, 'thin');
    const big = Array.from({ length: 2000 }, (_, i) => `line ${i} of a file big enough to be stored as a delta`).join('\n');
    makeRepo(repo, { 'big.txt': `${big}\n` });
    writeFileSync(join(repo, 'big.txt'), `${big}\none more line\n`);
    commitAll(repo);
    git(repo, 'bundle', 'create', join(dir, 'all.bundle'), 'HEAD');
    git(repo, 'bundle', 'create', join(dir, 'incremental.bundle'), 'HEAD~1..HEAD');
    const ids: string[] = [];
    for (const name of ['all.bundle', 'incremental.bundle']) {
      const res = await api<{ bundleId: string }>(server, 'POST', '/v1/bundles', new Uint8Array(readFileSync(join(dir, name))), { 'content-type': 'application/octet-stream' });
      assert.equal(res.status, 201, `${name} → ${res.status} ${JSON.stringify(res.body)}`);
      ids.push(res.body.bundleId);
    }
    assert.deepEqual(readdirSync(join(server.dataDir, 'bundles')).sort(), ids.map((id) => `${id}.bundle`).sort());
    const head = git(repo, 'rev-parse', 'HEAD');
    const created = await api<{ id: string }>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'bundle', bundleId: ids[0], commit: head } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await api(server, 'DELETE', `/v1/tasks/${created.body.id}`);
  });

  it('refuses a bundle task whose bundle was never uploaded, and makes no task', async () => {
    const before = await api<{ tasks: unknown[] }>(server, 'GET', '/v1/tasks');
    const res = await api<ErrorReply>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'bundle', bundleId: 'never-uploaded', commit: 'a'.repeat(40) } });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.deepEqual(res.body, { error: { code: 'repo_error', message: 'bundle never-uploaded is unknown or not a valid git bundle; upload it again' } });
    const after = await api<{ tasks: unknown[] }>(server, 'GET', '/v1/tasks');
    assert.equal(after.body.tasks.length, before.body.tasks.length);
  });
});
