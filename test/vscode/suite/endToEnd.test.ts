// The whole flow in a real VS Code, through the extension's commands (issue #9): delegate a
// selection, watch it go queued → running, its changed file stream in, steer it while it runs,
// answer its question, review per hunk through the diff editor's CodeLens, and open a pull request
// on the fake GitHub that carries exactly the accepted hunk, the agent's summary and its tests.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { MessageResponse, PullRequestInfo, Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, githubBranch, githubPulls, modelRequests, setScript, until } from './helpers';

const SCRIPT = 'e2e';
const STEER = 'Please keep sub exactly as it is.';
const ANSWER = 'No, leave sub alone.';
const QUESTION = 'Should sub get parentheses too?';
const SUMMARY = 'Parenthesized the returns of add and mul; sub is unchanged as asked.';
const TWO_HUNKS = [
  '*** Begin Patch',
  '*** Update File: src/math.js',
  '@@',
  ' function add(a, b) {',
  '-  return a + b;',
  '+  return (a + b);',
  ' }',
  '@@',
  ' function mul(a, b) {',
  '-  return a * b;',
  '+  return (a * b);',
  ' }',
  '*** End Patch',
].join('\n');

/** Where each status first shows in `seen`; -1 when it never did. */
const firstAt = (seen: string[], status: string): number => seen.indexOf(status);

describe('the whole flow: delegate → steer → question → review → pull request', () => {
  let api: DelegateApi;
  let original: string;

  before(async () => {
    api = await delegateApi();
    original = readFileSync(join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'math.js'), 'utf8');
    await setScript(SCRIPT, [
      // Slow enough that the steering message arrives while the command still runs: the extension
      // sees the command start through the event stream, which lagged ~3 s behind under a load
      // average of 12 (the steer then came after the question and was taken as its answer).
      { text: 'Checking the tests first.', toolCalls: [{ name: 'shell', arguments: { command: 'sleep 8; node test.js' } }] },
      { text: 'Adding parentheses to add and mul.', toolCalls: [{ name: 'apply_patch', arguments: { patch: TWO_HUNKS } }] },
      { toolCalls: [{ name: 'ask_user', arguments: { question: QUESTION } }] },
      {
        toolCalls: [{
          name: 'finish',
          arguments: { summary: SUMMARY, test_command: 'node test.js', tests_passed: true, test_output: 'ok' },
        }],
      },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('runs the whole flow and the pull request holds exactly the accepted hunk', async () => {
    // Every status the extension's model shows, per task, in order.
    const seen = new Map<string, string[]>();
    const sub = api.onDidChange(() => {
      for (const t of api.snapshot().tasks) {
        const list = seen.get(t.id) ?? [];
        if (list.at(-1) !== t.status) list.push(t.status);
        seen.set(t.id, list);
      }
    });
    try {
      const doc = await vscode.workspace.openTextDocument(join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'math.js'));
      const editor = await vscode.window.showTextDocument(doc);
      editor.selection = new vscode.Selection(8, 0, 10, 1);

      const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', {
        prompt: `Parenthesize the returns in math.js [[script:${SCRIPT}]]`,
      });
      assert.ok(task, 'the command returned no task');
      assert.equal(task.status, 'queued');
      assert.deepEqual(task.selection, { path: 'src/math.js', startLine: 9, endLine: 11, text: 'function mul(a, b) {\n  return a * b;\n}' });
      assert.equal(task.repo.remoteUrl, `${env('DELEGATE_TEST_GITHUB_URL')}/octo/demo.git`);
      const current = (): Task | undefined => api.snapshot().tasks.find((t) => t.id === task.id);
      assert.ok(current(), 'the task is not in the model at once');

      // Steer while the slow shell command runs: the agent reads it at its next turn.
      await until(
        () => api.timeline(task.id).some((i) => i.kind === 'tool' && i.name === 'shell' && i.state === 'running'),
        60_000,
        () => `the shell step to run (${current()?.status}, ${JSON.stringify(api.timeline(task.id).map((i) => i.kind))})`,
      );
      // A running command carries its start, for the panel's running timer (#19).
      const running = api.timeline(task.id).find((i) => i.kind === 'tool' && i.name === 'shell' && i.state === 'running');
      assert.ok(running?.kind === 'tool' && typeof running.startedAt === 'number' && running.startedAt <= Date.now(), JSON.stringify(running));
      const sentAt = Date.now();
      const steered = await vscode.commands.executeCommand<MessageResponse | undefined>('delegate.followUp', task.id, STEER);
      assert.equal(steered?.kind, 'steer');

      // The question: the task waits, and by now the changed file has streamed in.
      await until(() => current()?.status === 'waiting_for_input', 90_000, () => `the question (${current()?.status})`);
      assert.equal(current()?.question?.text, QUESTION);
      assert.deepEqual(current()?.changedFiles.map((f) => f.path), ['src/math.js'], 'changed files before the task finished');
      const asked = api.timeline(task.id).filter((i) => i.kind === 'question');
      assert.deepEqual(asked.map((i) => i.kind === 'question' && [i.text, i.answered]), [[QUESTION, false]], 'one open question in the timeline');

      const withSteer = (await modelRequests(SCRIPT)).filter((r) => r.at >= sentAt && JSON.stringify(r.body).includes(STEER));
      assert.ok(withSteer.length > 0, 'no model request after the steering message carried it');
      assert.ok(withSteer[0]!.turn <= 2, `the steering message reached the model only at turn ${withSteer[0]!.turn}`);

      const answered = await vscode.commands.executeCommand<MessageResponse | undefined>('delegate.followUp', task.id, ANSWER);
      assert.equal(answered?.kind, 'answer');
      await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
      assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
      assert.equal(current()?.summary, SUMMARY);
      const finalTurn = (await modelRequests(SCRIPT)).find((r) => r.turn === 3);
      assert.ok(finalTurn && JSON.stringify(finalTurn.body).includes(`The user answered: ${ANSWER}`), 'the answer reached the model');

      const statuses = [task.status, ...(seen.get(task.id) ?? [])];
      const order = ['queued', 'running', 'waiting_for_input', 'completed'].map((s) => firstAt(statuses, s));
      assert.ok(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), `statuses seen in the model: ${statuses.join(' → ')}`);

      // Review: the diff editor on our read-only scheme, its CodeLens above each hunk.
      await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'src/math.js');
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      assert.ok(input instanceof vscode.TabInputTextDiff, `the active tab is not a diff: ${JSON.stringify(input)}`);
      assert.equal(input.modified.scheme, 'delegate-review');
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', input.modified);
      const titled = (title: string): vscode.CodeLens[] => lenses.filter((l) => l.command?.title === title);
      assert.equal(titled('$(check) Accept').length, 2, `lenses: ${lenses.map((l) => l.command?.title).join(', ')}`);
      assert.equal(titled('$(close) Reject').length, 2);
      // What a click on a lens runs: its command with its arguments.
      const click = async (lens: vscode.CodeLens | undefined): Promise<unknown> =>
        vscode.commands.executeCommand(lens!.command!.command, ...(lens!.command!.arguments ?? []));
      const byLine = (l: vscode.CodeLens[]): vscode.CodeLens[] => [...l].sort((a, b) => a.range.start.line - b.range.start.line);
      assert.equal(await click(byLine(titled('$(check) Accept'))[0]), true);
      assert.equal(await click(byLine(titled('$(close) Reject'))[1]), true);
      assert.deepEqual(await api.decisions(task.id, 'src/math.js'), ['accepted', 'rejected']);

      // What the preview shows before anything is pushed (#19): exactly what the PR will take.
      const preview = await vscode.commands.executeCommand<{ title: string; summary?: string; files: { path: string; hunks: number; of: number }[]; undecided: string } | undefined>('delegate.createPullRequest', task.id, { preview: true });
      assert.deepEqual(preview?.files, [{ path: 'src/math.js', hunks: 1, of: 2 }]);
      assert.equal(preview?.summary, SUMMARY);
      assert.equal(preview?.undecided, '', 'every hunk is decided');
      assert.match(preview?.title ?? '', /^Parenthesize the returns in math\.js/);
      assert.equal(await githubBranch('octo', 'demo', `delegate/${task.id}`), null, 'the preview pushed nothing');

      const pr = await vscode.commands.executeCommand<PullRequestInfo | undefined>('delegate.createPullRequest', task.id, {
        token: env('DELEGATE_TEST_GITHUB_TOKEN'),
        confirm: false,
      });
      assert.ok(pr, 'the command opened no pull request (see the notifications)');
      const branch = await githubBranch('octo', 'demo', pr.branch);
      assert.ok(branch, `the fake GitHub has no branch ${pr.branch}`);
      assert.equal(branch.files['src/math.js'], original.replace('return a + b;', 'return (a + b);'), 'exactly the accepted hunk');
      assert.equal(branch.files['src/greet.js'], readFileSync(join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'greet.js'), 'utf8'));
      const pull = (await githubPulls()).find((p) => p.number === pr.number && p.repo === 'demo');
      assert.ok(pull, `no pull request #${pr.number} on the fake GitHub`);
      assert.equal(pull.head, pr.branch);
      assert.equal(pull.base, 'main');
      assert.ok(pull.body?.includes(SUMMARY), `the PR body lacks the summary:\n${pull.body}`);
      assert.match(pull.body ?? '', /### Tests\s+`node test\.js` — ✅ passed/);
      await until(() => current()?.pullRequest?.number === pr.number, 30_000, () => 'the task to show its pull request');
    } finally {
      sub.dispose();
    }
  });
});
