// The pull request's title, commit message and Markdown body. Pure functions.
import { parseUnifiedDiff, type ChangedFile, type TestResult, type Usage } from '../../../protocol';

/** GitHub refuses bodies over 65,536 characters; leave room for the fixed parts. */
const BODY_MAX = 60_000;
const TITLE_MAX = 72;

export interface BodyInput {
  taskId: string;
  prompt: string;
  summary?: string;
  changedFiles: ChangedFile[];
  testResult?: TestResult;
  usage: Usage;
  /** Set when the base branch moved on the remote since the task started. */
  baseMoved?: { branch: string; from: string; to: string };
  /** Set on a follow-up that updated an existing pull request. */
  updatedAt?: string;
}

/**
 * The files and +/− counts of what the commit really contains (the accepted hunks), which can be
 * less than the task's whole diff. Falls back to `fallback` when the patch has no parsable files.
 */
export function filesOfPatch(patch: string, fallback: ChangedFile[]): ChangedFile[] {
  const parsed = parseUnifiedDiff(patch);
  if (parsed.length === 0) return fallback;
  return parsed.map((f) => {
    const count = (tag: string): number => f.hunks.reduce((n, h) => n + h.lines.filter((l) => l.startsWith(tag)).length, 0);
    return {
      path: f.path,
      status: f.status,
      ...(f.status === 'renamed' && f.oldPath ? { oldPath: f.oldPath } : {}),
      additions: count('+'),
      deletions: count('-'),
      ...(f.binary ? { binary: true } : {}),
    };
  });
}

/** The first line of the prompt, shortened to a commit-subject length. */
export function defaultTitle(prompt: string): string {
  const line = prompt.trim().split('\n').find((l) => l.trim())?.trim() ?? 'Delegate task';
  return line.length <= TITLE_MAX ? line : `${line.slice(0, TITLE_MAX - 1).trimEnd()}…`;
}

export function commitMessage(title: string, summary: string | undefined, taskId: string): string {
  const parts = [title.trim()];
  if (summary?.trim()) parts.push(summary.trim());
  // The trailer lets a follow-up tell its own commits from someone else's on the branch.
  parts.push(`Delegate-Task: ${taskId}`);
  return parts.join('\n\n') + '\n';
}

export function hasTaskTrailer(message: string, taskId: string): boolean {
  return message.split('\n').some((l) => l.trim() === `Delegate-Task: ${taskId}`);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n\n… (${text.length - max} more characters)`;
}

function quote(text: string): string {
  return text.split('\n').map((l) => (l ? `> ${l}` : '>')).join('\n');
}

/** A path as inline code that survives backticks and table pipes. */
function codePath(path: string): string {
  const safe = path.replace(/\|/g, '\\|');
  return safe.includes('`') ? `\`\` ${safe} \`\`` : `\`${safe}\``;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function filesSection(files: ChangedFile[]): string {
  if (files.length === 0) return '_No files changed._';
  const rows = files.slice(0, 300).map((f) => {
    const name = f.status === 'renamed' && f.oldPath ? `${codePath(f.oldPath)} → ${codePath(f.path)}` : codePath(f.path);
    const counts = f.binary ? ['binary', ''] : [`+${f.additions}`, `−${f.deletions}`];
    return `| ${name} | ${f.status} | ${counts[0]} | ${counts[1]} |`;
  });
  const adds = files.reduce((s, f) => s + f.additions, 0);
  const dels = files.reduce((s, f) => s + f.deletions, 0);
  const more = files.length > 300 ? `\n\n…and ${files.length - 300} more files.` : '';
  return [
    `${files.length} file${files.length === 1 ? '' : 's'} changed, +${fmt(adds)} −${fmt(dels)}`,
    '',
    '| File | Change | + | − |',
    '| --- | --- | ---: | ---: |',
    ...rows,
  ].join('\n') + more;
}

function testsSection(t: TestResult | undefined): string {
  if (!t) return '_No test command was run._';
  const lines = [`\`${t.command.replace(/`/g, "'")}\` — ${t.passed ? '✅ passed' : '❌ failed'}`];
  if (t.summary?.trim()) lines.push('', '```', clip(t.summary.trim(), 4000).replace(/```/g, "'''"), '```');
  return lines.join('\n');
}

function usageSection(u: Usage): string {
  const cost = u.costUsd === null ? 'unknown' : `$${u.costUsd.toFixed(4)}`;
  return [
    '| Input tokens | Cached input | Output tokens | Reasoning | Model requests | Cost |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(u.inputTokens)} | ${fmt(u.cachedInputTokens)} | ${fmt(u.outputTokens)} | ${fmt(u.reasoningTokens)} | ${fmt(u.modelRequests)} | ${cost} |`,
  ].join('\n');
}

export function pullRequestBody(input: BodyInput): string {
  const sections: string[] = [];
  if (input.baseMoved) {
    const { branch, from, to } = input.baseMoved;
    sections.push(
      `> [!NOTE]\n> \`${branch}\` moved from ${from.slice(0, 12)} to ${to.slice(0, 12)} since this task started. ` +
        'The changes still apply to the new head; GitHub shows the merge result.',
    );
  }
  sections.push('### Task', quote(clip(input.prompt.trim(), 8000)));
  sections.push('### Summary', input.summary?.trim() ? clip(input.summary.trim(), 20_000) : '_The agent gave no summary._');
  sections.push('### Changed files', filesSection(input.changedFiles));
  sections.push('### Tests', testsSection(input.testResult));
  sections.push('### Token usage', usageSection(input.usage));
  const footer = `---\n<sub>Opened by Delegate · task \`${input.taskId}\`${input.updatedAt ? ` · updated ${input.updatedAt}` : ''}</sub>`;
  const body = sections.join('\n\n');
  return `${body.length > BODY_MAX ? clip(body, BODY_MAX) : body}\n\n${footer}\n`;
}
