// Connection commands: start or stop the local server, set the token (SecretStorage), reconnect now.
import * as vscode from 'vscode';
import type { Command, Services } from './types';

export const startLocalServer: Command = {
  id: 'delegate.startLocalServer',
  run(s: Services): boolean {
    const started = s.connection.startLocalServer();
    if (!started) void vscode.window.showInformationMessage('Delegate: the local server is already running.');
    s.log.show(true);
    return started;
  },
};

export const stopLocalServer: Command = {
  id: 'delegate.stopLocalServer',
  run(s: Services): boolean {
    const stopped = s.connection.stopLocalServer();
    if (!stopped) void vscode.window.showInformationMessage('Delegate: no local server started from this window runs.');
    return stopped;
  },
};

export const setServerToken: Command = {
  id: 'delegate.setServerToken',
  async run(s: Services, arg?: unknown): Promise<void> {
    const token =
      typeof arg === 'string'
        ? arg
        : await vscode.window.showInputBox({
            title: 'Delegate server token',
            prompt: 'Stored in VS Code\'s secret storage. Leave empty to forget the stored token.',
            password: true,
            ignoreFocusOut: true,
          });
    if (token === undefined) return;
    if (token.trim()) await s.tokens.store(token.trim());
    else await s.tokens.clear();
    s.connection.reconnect();
  },
};

export const reconnect: Command = {
  id: 'delegate.reconnect',
  run(s: Services): void {
    s.connection.reconnect();
  },
};
