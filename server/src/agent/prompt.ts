// What the model is told: how to work (system prompt), the repository's own instructions
// (AGENTS.md), and the task with the code the user selected.
import { posix } from 'node:path';
import type { Selection } from '../../../protocol';
import type { ConfinedFiles } from '../workspace/types';
import { fenceFor } from './truncate';

export interface AgentsFile {
  /** Path relative to the repository root. */
  path: string;
  text: string;
}

/** Per file (at most two files); instructions beyond this are cut with a note. */
export const AGENTS_FILE_CAP = 12_000;

const BASE_PROMPT = `You are Delegate, a careful senior software engineer. A user handed you a task from their editor. You work alone in a sandbox on a private copy of their repository, mounted at /workspace (the current directory of every command). Nothing you do touches the user's files directly: they will review your changes as a diff, hunk by hunk, and then apply them or open a pull request.

How to work:
- Think before acting. Understand the task and the code around it first: list and search the repository, read the files you will change and the code that calls them. Never edit a file you have not read.
- Follow the repository's conventions: its style, structure, naming, test layout and tooling. Prefer its existing helpers over new ones. Respect the instructions from AGENTS.md below.
- Make small, focused changes that do exactly what the task asks; no unrelated refactors, reformatting or renames. Keep the code working at every step.
- Edit files with apply_patch. Use shell for everything else: building, running tests, linters, git status/diff/log (the repository's .git is read-only: do not commit, branch or push).
- Run the relevant tests (and the build or type check when there is one). If something fails, read the output, fix the cause, and run it again. Do not change tests just to make them pass unless the task asks for it.
- Commands have a time limit and run non-interactively (never start editors, pagers or servers that do not exit).
{{NETWORK}}
- If the task is truly ambiguous, ask_user one precise question; otherwise make a reasonable choice and state it in your summary.
- When you are done, call finish with a short summary for the reviewer: what you changed and why, and how you verified it (the test command and whether it passed). The task only ends when you call finish.

apply_patch takes a patch in this format (paths relative to the repository root):
*** Begin Patch
*** Add File: path/to/new.ts
+every line of the new file, each prefixed with +
*** Update File: path/to/existing.ts
@@ a line just above the change, to locate it (optional)
 an unchanged context line (prefixed with a space)
-a line to remove
+a line to add
 another context line
*** Delete File: path/to/old.ts
*** End Patch
Give about 3 lines of context above and below each change, copied exactly from the file. Use '*** Move to: new/path' right after an Update File line to rename.`;

function cap(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[… instructions cut at ${max} characters]`;
}

/**
 * The root AGENTS.md and the one nearest to the selection's directory (nearest last, so it wins
 * where they disagree). Read through the confined files; missing or unreadable files are skipped.
 */
export async function loadAgentsFiles(files: ConfinedFiles, selectionPath?: string): Promise<AgentsFile[]> {
  const readIfPresent = async (path: string): Promise<AgentsFile | null> => {
    try {
      if (!(await files.exists(path))) return null;
      const text = (await files.readFile(path)).toString('utf8').trim();
      return text ? { path, text } : null;
    } catch {
      return null;
    }
  };
  const found: AgentsFile[] = [];
  const root = await readIfPresent('AGENTS.md');
  if (root) found.push(root);
  if (selectionPath) {
    let dir = posix.dirname(posix.normalize(selectionPath));
    while (dir !== '.' && dir !== '/' && dir !== '' && !dir.startsWith('..')) {
      const nearest = await readIfPresent(posix.join(dir, 'AGENTS.md'));
      if (nearest) {
        found.push(nearest);
        break;
      }
      dir = posix.dirname(dir);
    }
  }
  return found.map((f) => ({ path: f.path, text: cap(f.text, AGENTS_FILE_CAP) }));
}

const NETWORK_OFF = '- Commands have no network access: work with what the repository and the sandbox already hold.';
const NETWORK_ON = '- Commands may use the network (this task allows it), e.g. to install dependencies.';

export function buildSystemPrompt(agentsFiles: AgentsFile[] = [], options: { network?: boolean } = {}): string {
  const base = BASE_PROMPT.replace('{{NETWORK}}', options.network ? NETWORK_ON : NETWORK_OFF);
  if (agentsFiles.length === 0) return base;
  const sections = agentsFiles.map(
    (f) => `<instructions path="${f.path}">\n${f.text}\n</instructions>`,
  );
  return `${base}

Repository instructions (AGENTS.md). Follow them. Where they disagree, the file nearer to the code you are changing (listed later) wins.
${sections.join('\n')}`;
}

/** The first user message: the task, then the selected code when there is one. */
export function buildTaskMessage(prompt: string, selection?: Selection): string {
  const parts = [`Task:\n${prompt.trim()}`];
  if (selection) {
    const fence = fenceFor(selection.text);
    const lang = posix.extname(selection.path).slice(1);
    parts.push(
      `The user selected this code in ${selection.path} (lines ${selection.startLine}-${selection.endLine}):\n${fence}${lang}\n${selection.text}\n${fence}`,
    );
  }
  return parts.join('\n\n');
}

/** After a reply without a tool call: text (the model may think it is done) or nothing at all. */
export const NUDGE_AFTER_TEXT =
  'If the task is complete, call finish with your summary. Otherwise continue working: use the tools to make progress.';
export const NUDGE_AFTER_EMPTY = 'Your last reply was empty. Continue the task with a tool call, or call finish if it is complete.';

/** Told once, in the result of the call that completed the last allowed round of a loop. */
export function loopWarning(period: number, rounds: number, calls: string[]): string {
  const what =
    period === 1
      ? `you have made exactly this call ${rounds} times in a row`
      : `you have made the same ${period} calls in turn ${rounds} times over (${calls.join('; ')})`;
  return `\n\n[Harness note: ${what}, with the same result each time. Going on with it stops the task. Change your approach.]`;
}

/**
 * The prompt of a run that continues a task. `restart`: the earlier run stopped before its first
 * model request (no conversation): start over from the task's prompt. `interrupted`: the server
 * stopped during the earlier run; the conversation was kept up to its last complete turn, the
 * files may be further along.
 */
export function continuationPrompt(kind: 'restart' | 'interrupted', taskPrompt: string, message: string): string {
  return kind === 'restart'
    ? `${taskPrompt}\n\nNote: an earlier run of this task was interrupted; the workspace already contains its changes.\n\n${message}`
    : `Note: the server stopped during your previous run; the workspace may hold changes from steps after the last one shown above. Check the files before relying on them.\n\n${message}`;
}

/**
 * The prompt of a follow-up that starts from a checkpoint: the conversation still holds the later
 * turns, so the agent is told plainly that their changes are gone from the files.
 */
export function checkpointPrompt(message: string): string {
  return `Note: before this message the user set the workspace back to its state after an earlier turn of yours; the changes made in the turns after it were undone. Check the files before relying on what the later turns did.\n\n${message}`;
}
