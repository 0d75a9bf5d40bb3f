// Builds the pull request's commit inside the bare mirror without a work tree: a temporary index
// (GIT_INDEX_FILE) gets the base tree, the accepted patch is applied to it, and the result becomes
// a commit object. Only objects are added to the mirror; no ref, HEAD or config changes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitText, runGit, type GitOptions } from './git';

export type TreeResult =
  | { ok: true; tree: string; baseTree: string }
  | { ok: false; reason: 'does_not_apply' | 'empty'; message: string };

type Ctx = Pick<GitOptions, 'gitDir' | 'runner' | 'hostEnv' | 'signal' | 'log'>;

export async function commitExists(ctx: Ctx, rev: string): Promise<boolean> {
  const r = await runGit(['cat-file', '-e', `${rev}^{commit}`], ctx);
  return r.code === 0;
}

/** The tree of `onto` with `patch` applied (binary patches included), as a tree object id. */
export async function applyToTree(ctx: Ctx, onto: string, patch: string): Promise<TreeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'delegate-pr-index-'));
  try {
    const env = { GIT_INDEX_FILE: join(dir, 'index') };
    const read = await runGit(['read-tree', onto], { ...ctx, env });
    if (read.code !== 0) return { ok: false, reason: 'does_not_apply', message: `cannot read the tree of ${onto.slice(0, 12)}: ${read.stderr.trim()}` };
    const applied = await runGit(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], { ...ctx, env, input: patch });
    if (applied.code !== 0) {
      return { ok: false, reason: 'does_not_apply', message: firstLines(applied.stderr, 6) || 'git apply failed' };
    }
    const tree = await gitText(['write-tree'], { ...ctx, env });
    const baseTree = await gitText(['rev-parse', `${onto}^{tree}`], ctx);
    if (!tree || !baseTree) return { ok: false, reason: 'does_not_apply', message: 'git write-tree failed' };
    if (tree === baseTree) return { ok: false, reason: 'empty', message: 'the accepted changes make no difference to the base commit' };
    return { ok: true, tree, baseTree };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CommitSpec {
  tree: string;
  parents: string[];
  message: string;
  author: { name: string; email: string };
}

/** Writes a commit object; returns its id or null. The message goes through stdin, not argv. */
export async function commitTree(ctx: Ctx, spec: CommitSpec): Promise<string | null> {
  const env = {
    GIT_AUTHOR_NAME: spec.author.name,
    GIT_AUTHOR_EMAIL: spec.author.email,
    GIT_COMMITTER_NAME: spec.author.name,
    GIT_COMMITTER_EMAIL: spec.author.email,
  };
  const args = ['commit-tree', spec.tree];
  for (const p of spec.parents) args.push('-p', p);
  args.push('-F', '-');
  return gitText(args, { ...ctx, env, input: spec.message });
}

export async function treeOf(ctx: Ctx, rev: string): Promise<string | null> {
  return gitText(['rev-parse', '--verify', '--quiet', `${rev}^{tree}`], ctx);
}

export async function parentsOf(ctx: Ctx, rev: string): Promise<string[] | null> {
  const line = await gitText(['rev-list', '--parents', '-n', '1', rev], ctx);
  return line === null ? null : line.split(/\s+/).slice(1);
}

export async function messageOf(ctx: Ctx, rev: string): Promise<string | null> {
  return gitText(['log', '-1', '--format=%B', rev], ctx);
}

function firstLines(text: string, n: number): string {
  return text.trim().split('\n').slice(0, n).join('\n');
}
