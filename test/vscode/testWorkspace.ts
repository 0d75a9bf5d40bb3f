// The folder the VS Code tests open: a small git repository with a few source files and a
// trivial test script, committed on branch main. Suites find it through DELEGATE_TEST_WORKSPACE
// and may rely on exactly these files (see `workspaceFiles`).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const workspaceFiles: Readonly<Record<string, string>> = {
  'README.md': '# Sample\n\nA tiny project that the Delegate VS Code tests hand to an agent.\n',
  'package.json': JSON.stringify({ name: 'sample', version: '1.0.0', private: true, scripts: { test: 'node test.js' } }, null, 2) + '\n',
  'src/greet.js': [
    'function greet(name) {',
    '  return `Hello, ${name}`;',
    '}',
    '',
    'module.exports = { greet };',
    '',
  ].join('\n'),
  'src/math.js': [
    'function add(a, b) {',
    '  return a + b;',
    '}',
    '',
    'function sub(a, b) {',
    '  return a - b;',
    '}',
    '',
    'function mul(a, b) {',
    '  return a * b;',
    '}',
    '',
    'module.exports = { add, sub, mul };',
    '',
  ].join('\n'),
  'test.js': [
    "const assert = require('node:assert');",
    "const { add, sub, mul } = require('./src/math');",
    "const { greet } = require('./src/greet');",
    'assert.strictEqual(add(2, 3), 5);',
    'assert.strictEqual(sub(5, 3), 2);',
    'assert.strictEqual(mul(4, 3), 12);',
    "assert.ok(greet('Ada').includes('Ada'));",
    "console.log('ok');",
    '',
  ].join('\n'),
};

/** Creates the repository in `dir` (which must not exist or be empty) and returns its HEAD commit. */
export function makeTestWorkspace(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(workspaceFiles)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Delegate Tests');
  git('config', 'user.email', 'tests@delegate.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '-m', 'Initial commit');
  return git('rev-parse', 'HEAD');
}
