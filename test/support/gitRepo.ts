// Real git repositories for tests and benchmarks.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_TERMINAL_PROMPT: '0',
};

/** Runs git in `cwd`; returns trimmed stdout, throws with stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: ENV, encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

export interface MakeRepoOptions {
  branch?: string;
  message?: string;
  remoteUrl?: string;
}

/** git init + one commit of `files`; returns HEAD. */
export function makeRepo(dir: string, files: Record<string, string | Buffer>, opts: MakeRepoOptions = {}): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', opts.branch ?? 'main');
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', opts.message ?? 'initial');
  if (opts.remoteUrl) git(dir, 'remote', 'add', 'origin', opts.remoteUrl);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Commits everything in the work tree; returns the new HEAD. */
export function commitAll(dir: string, message = 'change'): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** A repository shaped like a real project: `fileCount` small source files in nested folders. */
export function makeLargeRepo(dir: string, fileCount = 5000): string {
  const files: Record<string, string> = {};
  for (let i = 0; i < fileCount; i++) {
    const path = `src/m${i % 50}/s${Math.floor(i / 50) % 20}/file${i}.ts`;
    files[path] = `// file ${i}\nexport const value${i} = ${i};\nexport function f${i}(x: number): number {\n  return x + ${i};\n}\n`;
  }
  files['README.md'] = '# large\n';
  files['.gitignore'] = 'node_modules/\n*.log\n';
  const head = makeRepo(dir, files);
  // Real repositories are mostly packed; thousands of loose objects would make every fetch slow.
  git(dir, 'repack', '-adq');
  git(dir, 'prune-packed');
  return head;
}
