// Every command, registered from one typed list (one file per command).
import * as vscode from 'vscode';
import { applyTask } from './applyTask';
import { cancelTask } from './cancelTask';
import { createPullRequest } from './createPullRequest';
import { delegateTask } from './delegateTask';
import { acceptFile, rejectFile } from './fileDecision';
import { followUp } from './followUp';
import { followUpFromCheckpoint } from './followUpFromCheckpoint';
import { goToCheckpoint } from './goToCheckpoint';
import { acceptHunk, rejectHunk } from './hunkDecision';
import { openFileDiff } from './openFileDiff';
import { openPanel } from './openPanel';
import { openPullRequest } from './openPullRequest';
import { removeTask } from './removeTask';
import { retryTask } from './retryTask';
import { reviewTask } from './reviewTask';
import { selectAttempt } from './selectAttempt';
import { sendRejections } from './sendRejections';
import { reconnect, setServerToken, signIn, startLocalServer, stopLocalServer } from './serverCommands';
import type { Command, Services } from './types';
import { undoApply } from './undoApply';
import { viewCheckpoint } from './viewCheckpoint';

export const COMMANDS: readonly Command[] = [
  delegateTask,
  openPanel,
  cancelTask,
  removeTask,
  followUp,
  reviewTask,
  selectAttempt,
  viewCheckpoint,
  followUpFromCheckpoint,
  goToCheckpoint,
  openFileDiff,
  acceptHunk,
  rejectHunk,
  acceptFile,
  rejectFile,
  sendRejections,
  applyTask,
  undoApply,
  retryTask,
  createPullRequest,
  openPullRequest,
  startLocalServer,
  stopLocalServer,
  setServerToken,
  signIn,
  reconnect,
];

export function registerCommands(services: Services): vscode.Disposable[] {
  return COMMANDS.map((command) =>
    vscode.commands.registerCommand(command.id, async (...args: unknown[]) => {
      try {
        return await command.run(services, ...args);
      } catch (e) {
        services.log.error(`${command.id} failed`, e instanceof Error ? e : String(e));
        void vscode.window.showErrorMessage(`Delegate: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }),
  );
}
