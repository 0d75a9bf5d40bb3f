// "Delegate Task…": the selection and the repository, a prompt, and off it goes. Tests (and other
// extensions) pass `{prompt, options?}` to skip the input; the created task is returned.
import * as vscode from 'vscode';
import { TaskOptions, type Task } from '../../protocol';
import { readSettings } from '../config';
import { unreachableNotice } from '../panel/notices';
import { isLoopbackUrl } from '../server/apiClient';
import { showFailure } from './args';
import type { Command, Services } from './types';

interface DelegateArgs {
  prompt?: string;
  options?: unknown;
}

export const delegateTask: Command = {
  id: 'delegate.delegateTask',
  async run(s: Services, arg?: unknown): Promise<Task | undefined> {
    const args: DelegateArgs = arg && typeof arg === 'object' && !(arg instanceof vscode.Uri) ? (arg) : {};
    const options = TaskOptions.safeParse(args.options ?? {});
    if (!options.success) {
      showFailure('invalid options', options.error.message);
      return undefined;
    }
    const captured = await s.submitter.capture(vscode.window.activeTextEditor);
    if (!captured.ok) {
      showFailure('cannot delegate', captured.error.message);
      return undefined;
    }
    const prompt = args.prompt ?? (await askPrompt(s, captured.value.selection?.path));
    if (prompt === undefined) return undefined;
    if (prompt === OPEN_PANEL) {
      s.panel.compose(captured.value);
      return undefined;
    }
    const created = await vscode.window.withProgress(
      { location: { viewId: 'delegate.tasks' }, title: 'Delegating…' },
      () => s.submitter.submit(captured.value, prompt, options.data),
    );
    if (!created.ok) {
      // The typed prompt is kept in the panel's prompt editor, with the way forward.
      const unreachable = created.error.code === 'unreachable';
      s.panel.compose(captured.value, prompt, unreachable ? unreachableNotice(created.error.message) : { text: created.error.message, actions: ['retry'] });
      const actions = unreachable && isLoopbackUrl(readSettings().serverUrl) ? ['Retry', 'Start Local Server'] : ['Retry'];
      void vscode.window.showErrorMessage(`Delegate: the task was not created: ${created.error.message}`, ...actions).then(async (choice) => {
        if (choice === 'Start Local Server') await vscode.commands.executeCommand('delegate.startLocalServer');
        else if (choice === 'Retry') await vscode.commands.executeCommand('delegate.delegateTask', { prompt, ...(args.options ? { options: args.options } : {}) });
      });
      return undefined;
    }
    return created.value;
  },
};

const OPEN_PANEL = Symbol('open panel');

function askPrompt(s: Services, selectionPath: string | undefined): Promise<string | typeof OPEN_PANEL | undefined> {
  return new Promise((resolve) => {
    const input = vscode.window.createInputBox();
    input.title = 'Delegate Task';
    input.placeholder = 'What should the agent do? (Enter to delegate)';
    input.prompt = selectionPath ? `With the selection in ${selectionPath}` : 'Without a selection';
    input.ignoreFocusOut = true;
    input.buttons = [{ iconPath: new vscode.ThemeIcon('link-external'), tooltip: 'Open in panel… (for a longer prompt)' }];
    let result: string | typeof OPEN_PANEL | undefined;
    const done = () => {
      input.dispose();
      resolve(result);
    };
    input.onDidTriggerButton(() => {
      result = OPEN_PANEL;
      input.hide();
    });
    input.onDidAccept(() => {
      if (!input.value.trim()) {
        input.validationMessage = 'Describe the task first.';
        return;
      }
      result = input.value.trim();
      input.hide();
    });
    input.onDidHide(done);
    input.show();
    s.log.trace('asking for a prompt');
  });
}
