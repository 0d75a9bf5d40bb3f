// Which environment a task works in, and its cache key (server/src/environments/resolve.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskOptions } from '../../../protocol';
import { environmentKey, readFromLayers, resolveEnvironment, type Environment, type ReadRepoFile } from '../../../server/src/environments/resolve';

const files = (map: Record<string, string>): ReadRepoFile => async (path) => (path in map ? Buffer.from(map[path]!) : null);

describe('environments: resolving a task\'s environment', () => {
  it('takes the task option over the repository file', async () => {
    const r = await resolveEnvironment({ environment: { setup: 'make' } }, files({ '.delegate/environment.json': '{"setup":"npm ci"}' }));
    assert.ok(r.ok);
    assert.equal(r.environment?.spec.setup, 'make');
    assert.equal(r.environment?.from, 'task option');
  });

  it('reads .delegate/environment.json strictly: bad JSON and unknown fields fail saying where', async () => {
    const bad = await resolveEnvironment({}, files({ '.delegate/environment.json': '{"setup":' }));
    assert.ok(!bad.ok && /is not JSON/.test(bad.message));
    const unknown = await resolveEnvironment({}, files({ '.delegate/environment.json': '{"setup":"x","setpu":"y"}' }));
    assert.ok(!unknown.ok && /environment\.json/.test(unknown.message) && /setpu|unrecognized/i.test(unknown.message), JSON.stringify(unknown));
    const badSecret = await resolveEnvironment({}, files({ '.delegate/environment.json': '{"setup":"x","secrets":["NOT-A-NAME"]}' }));
    assert.ok(!badSecret.ok && /secrets\.0/.test(badSecret.message));
  });

  it('the task option is strict, like the other request schemas', () => {
    assert.ok(TaskOptions.safeParse({ environment: { setup: 'npm ci', network: true, env: { CI: '1' }, secrets: ['NPM_TOKEN'], image: 'node:20' } }).success);
    assert.ok(!TaskOptions.safeParse({ environment: { setup: 'npm ci', extra: 1 } }).success);
    assert.ok(!TaskOptions.safeParse({ environment: { env: { 'BAD NAME': 'x' } } }).success);
    assert.ok(!TaskOptions.safeParse({ environment: { image: '--privileged' } }).success);
  });

  it('an environment without a setup still names its image', async () => {
    const r = await resolveEnvironment({}, files({ '.delegate/environment.json': '{"image":"delegate-sandbox:universal"}' }));
    assert.deepEqual(r, { ok: true, environment: null, image: 'delegate-sandbox:universal' });
  });

  it('a plain setup script is an environment whose setup has the network unless the task\'s is off', async () => {
    const option = await resolveEnvironment({ setupScript: 'npm ci', network: 'setup' }, files({}));
    assert.ok(option.ok);
    assert.deepEqual(option.environment, { spec: { setup: 'npm ci', network: true }, from: 'setup script' });
    const file = await resolveEnvironment({}, files({ '.delegate/setup.sh': 'npm ci\n' }));
    assert.ok(file.ok);
    assert.deepEqual(file.environment, { spec: { setup: 'sh .delegate/setup.sh', network: false }, from: 'setup script' });
    assert.deepEqual(await resolveEnvironment({}, files({})), { ok: true, environment: null, image: undefined });
  });
});

describe('environments: the cache key', () => {
  const env = (spec: Partial<Environment['spec']>): Environment => ({ spec: { setup: 'npm ci', ...spec }, from: 'task option' });
  const docker = { driver: 'docker', image: 'delegate-sandbox:bookworm' };
  const base = environmentKey('t1', env({ env: { A: '1', B: '2' } }), docker);

  it('is the same for the same tree and environment, whatever the order of its variables', () => {
    assert.equal(environmentKey('t1', env({ env: { B: '2', A: '1' } }), docker), base);
  });

  it('changes with the tree, the script, a variable, the network, a secret name, the image and the driver', () => {
    const others = [
      environmentKey('t2', env({ env: { A: '1', B: '2' } }), docker),
      environmentKey('t1', env({ setup: 'npm i', env: { A: '1', B: '2' } }), docker),
      environmentKey('t1', env({ env: { A: '1', B: '3' } }), docker),
      environmentKey('t1', env({ env: { A: '1', B: '2' }, network: true }), docker),
      environmentKey('t1', env({ env: { A: '1', B: '2' }, secrets: ['NPM_TOKEN'] }), docker),
      environmentKey('t1', env({ env: { A: '1', B: '2' }, image: 'other:1' }), docker),
      environmentKey('t1', env({ env: { A: '1', B: '2' } }), { driver: 'docker', image: 'delegate-sandbox:universal' }),
      environmentKey('t1', env({ env: { A: '1', B: '2' } }), { driver: 'bwrap', image: undefined }),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
  });
});

describe('environments: reading a file through the base\'s layers', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'delegate-layers-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const layer = (name: string, map: Record<string, string>): string => {
    const dir = join(root, name);
    for (const [path, text] of Object.entries(map)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  it('takes the topmost layer that has the file, looks below when it lacks it', async () => {
    const top = layer('top', { '.delegate/environment.json': 'top' });
    const bottom = layer('bottom', { '.delegate/environment.json': 'bottom', '.delegate/setup.sh': 'setup' });
    const read = readFromLayers([top, bottom]);
    assert.equal((await read('.delegate/environment.json'))?.toString(), 'top');
    assert.equal((await read('.delegate/setup.sh'))?.toString(), 'setup');
    assert.equal(await read('.delegate/missing'), null);
  });

  it('a whiteout, or a file where its directory was, hides the layers below', async function () {
    if (process.getuid?.() !== 0) this.skip(); // whiteouts are character devices: mknod needs root
    const top = layer('top', {});
    mkdirSync(join(top, '.delegate'));
    execFileSync('mknod', [join(top, '.delegate', 'environment.json'), 'c', '0', '0']);
    const other = layer('other', { '.delegate': 'a file now' });
    const bottom = layer('bottom', { '.delegate/environment.json': 'old', '.delegate/setup.sh': 'old' });
    assert.equal(await readFromLayers([top, bottom])('.delegate/environment.json'), null);
    assert.equal((await readFromLayers([top, bottom])('.delegate/setup.sh'))?.toString(), 'old');
    assert.equal(await readFromLayers([other, bottom])('.delegate/setup.sh'), null);
  });
});
