import assert from 'node:assert/strict';
import { ConfigError, parseConfig } from '../../../server/src/config';
import { Scrubber } from '../../../server/src/log';

describe('server configuration', () => {
  it('has loopback defaults and reads the environment', () => {
    const c = parseConfig([], { DELEGATE_TOKEN: 'x'.repeat(20), OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', HOME: '/home/u' }, 1000);
    assert.ok(c !== 'help');
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 7420);
    assert.equal(c.token, 'x'.repeat(20));
    assert.equal(c.dataDir, '/home/u/.local/share/delegate');
    assert.equal(c.openaiBaseUrl, 'http://127.0.0.1:1/v1');
    assert.equal(c.sandbox, 'auto');
    assert.ok(c.maxParallel >= 2);
    const root = parseConfig([], { HOME: '/root' }, 0);
    assert.ok(root !== 'help' && root.dataDir === '/var/lib/delegate');
    const env = parseConfig([], { HOME: '/root', DELEGATE_DATA_DIR: '/d' }, 0);
    assert.ok(env !== 'help' && env.dataDir === '/d');
  });

  it('reads the environment its parts need, and passes only a few variables on to host processes', () => {
    const c = parseConfig([], { HOME: '/h', PATH: '/p', https_proxy: 'http://proxy:3128', GIT_DIR: '/evil', OPENAI_API_KEY: 'sk-x', DOCKER_HOST: 'tcp://127.0.0.1:1', DELEGATE_SANDBOX_UID: '1700', DELEGATE_NODE_SPAWN: '1' }, 1000);
    assert.ok(c !== 'help');
    assert.deepEqual(c.hostEnv, { PATH: '/p', HOME: '/h', https_proxy: 'http://proxy:3128' });
    assert.equal(c.dockerHost, 'tcp://127.0.0.1:1');
    assert.equal(c.sandboxUid, 1700);
    assert.equal(c.nodeSpawn, true);
    const d = parseConfig([], {}, 1000);
    assert.ok(d !== 'help');
    assert.deepEqual([d.hostEnv, d.dockerHost, d.sandboxUid, d.nodeSpawn], [{ PATH: '/usr/bin:/bin' }, undefined, 1500, false]);
    assert.throws(() => parseConfig([], { DELEGATE_SANDBOX_UID: 'root' }, 1000), ConfigError);
  });

  it('parses every documented flag', () => {
    const c = parseConfig(['--host', '::1', '--port', '0', '--data-dir', '/d', '--sandbox', 'bwrap', '--max-parallel', '7', '--model', 'm', '--wire-api', 'chat', '--token', 't'.repeat(16), '--github-api-url', 'https://ghe.example/api/v3/'], {});
    assert.ok(c !== 'help');
    assert.deepEqual([c.host, c.port, c.dataDir, c.sandbox, c.maxParallel, c.model, c.wireApi, c.githubApiUrl], ['::1', 0, '/d', 'bwrap', 7, 'm', 'chat', 'https://ghe.example/api/v3']);
    assert.equal(parseConfig(['--help'], {}), 'help');
    // The fast layers are on unless switched off, each by its own flag.
    const plain = parseConfig(['--no-spares', '--no-repo-watch', '--no-flatten-bases', '--no-prepare-ahead'], {});
    const fast = parseConfig([], {});
    assert.ok(plain !== 'help' && fast !== 'help');
    assert.deepEqual([plain.spares, plain.repoWatch, plain.flattenBases, plain.prepareAhead], [false, false, false, false]);
    assert.deepEqual([fast.spares, fast.repoWatch, fast.flattenBases, fast.prepareAhead], [true, true, true, true]);
  });

  it('rejects bad values with a clear message', () => {
    for (const args of [['--port', 'x'], ['--sandbox', 'vm'], ['--wire-api', 'soap'], ['--max-parallel', '0'], ['--token', 'short'], ['--bogus'], ['--github-api-url', 'nope']]) {
      assert.throws(() => parseConfig(args, {}), ConfigError, args.join(' '));
    }
  });

  it('scrubs registered secrets and credential-looking strings', () => {
    const s = new Scrubber();
    s.add('my-very-secret-value');
    const out = s.scrub('a my-very-secret-value b Bearer abcdefghijklmnopqrstuvwxyz sk-abcdefghijklmnopqrstu https://u:p@host/x ghp_abcdefghijklmnopqrstuvwxyz0123');
    assert.ok(!out.includes('my-very-secret-value'));
    assert.ok(!out.includes('abcdefghijklmnopqrstuvwxyz'));
    assert.ok(!out.includes('sk-abc'));
    assert.ok(!out.includes('u:p@'));
    assert.ok(!out.includes('ghp_'));
  });

  it('scrubs any Authorization header, whatever it carries', () => {
    const out = new Scrubber().scrub('Authorization: Basic abc== and authorization: bearer short');
    assert.ok(!out.includes('abc==') && !out.includes('short'), out);
  });
});
