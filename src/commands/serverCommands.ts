// Connection commands: start or stop the local server, set the token (SecretStorage), sign in with
// GitHub (a server that takes GitHub sign-in), reconnect now.
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

/** `{switchAccount: true}` asks VS Code for another GitHub account (the server refused this one). */
export const signIn: Command = {
  id: 'delegate.signIn',
  async run(s: Services, opts?: unknown): Promise<boolean> {
    const switchAccount = typeof opts === 'object' && opts !== null && (opts as { switchAccount?: unknown }).switchAccount === true;
    const signedIn = await s.connection.signInWithGitHub(switchAccount);
    if (!signedIn) void vscode.window.showWarningMessage('Delegate: not signed in to GitHub, so this server is not available. Sign in from the Delegate view or the Accounts menu.');
    return signedIn;
  },
};
