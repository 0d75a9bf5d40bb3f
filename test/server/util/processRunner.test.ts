// Both ProcessRunners start exactly the program asked for: no shell start-up file of the server's
// user runs on the way. Node's pipes are socketpairs, and bash whose stdin is a socket sources
// ~/.bashrc (it takes itself for rshd's child): a pyenv init there cost every git process 500 ms.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

/**
 * Runs `true` through the named runner, in a node process that inherited fd 12 without
 * close-on-exec (as a server started by another tool can): the SpawnRunner then closes it in a
 * shell, bash since dash cannot name fds above 9. HOME holds a .bashrc and .profile that leave a mark.
 */
async function runTrue(kind: 'spawn' | 'launcher', home: string): Promise<{ code: number | null; out: string }> {
  const script = `
    const { processRunnerFor } = require(${JSON.stringify(join(ROOT, 'server/src/util/launcher.ts'))});
    const runner = processRunnerFor(${JSON.stringify(kind)});
    runner.run({ argv: ['true'], cwd: '/', env: { PATH: process.env.PATH, HOME: ${JSON.stringify(home)} }, stdin: '' }, {
      end: (r) => { process.stdout.write(JSON.stringify({ code: r.code, runner: runner.name })); process.exit(0); },
    });`;
  const stdio = ['ignore', 'pipe', 'inherit', ...Array(9).fill('ignore'), 'pipe'] as const;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: ROOT, stdio: [...stdio] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, out };
}

describe('ProcessRunner: no start-up files of the server user', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'delegate-home-'));
    for (const file of ['.bashrc', '.bash_profile', '.profile']) writeFileSync(join(home, file), `touch ${JSON.stringify(join(home, `ran${file}`))}\n`);
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  for (const kind of ['spawn', 'launcher'] as const) {
    it(`${kind}: a process started with a stdin pipe and an inherited fd above 9 runs no ~/.bashrc`, async () => {
      const { code, out } = await runTrue(kind, home);
      assert.equal(code, 0, out);
      assert.deepEqual(JSON.parse(out), { code: 0, runner: kind });
      for (const file of ['.bashrc', '.bash_profile', '.profile']) assert.equal(existsSync(join(home, `ran${file}`)), false, `${file} ran`);
    });
  }
});
