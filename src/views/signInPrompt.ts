// Says when a server wants GitHub sign-in, and when it refused the account: once per server and
// account, with the way forward (sign in, another account, a server token). The status bar and
// the queue's welcome text say it too, for as long as it holds.
import * as vscode from 'vscode';
import type { Connection, SignIn } from '../server/connection';

export class SignInPrompt implements vscode.Disposable {
  private readonly said = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly connection: Connection) {
    this.subscription = connection.onDidChangeSignIn((state) => this.show(state));
  }

  private show(state: SignIn): void {
    if (state.kind === 'needed') {
      if (!this.once(`needed ${state.serverUrl}`)) return;
      void vscode.window
        .showInformationMessage(
          `Delegate: the server at ${state.serverUrl} signs you in with your GitHub account; you will see and control only your own tasks there.`,
          'Sign In with GitHub',
        )
        .then((choice) => choice && this.connection.signInWithGitHub());
    } else if (state.kind === 'refused') {
      if (!this.once(`refused ${state.serverUrl} ${state.login} ${state.status}`)) return;
      const how =
        state.status === 403
          ? `You are signed in to GitHub as ${state.login}: sign in with an account the server admits, or ask its administrator to add ${state.login} (or an organisation you belong to) to its --github-allow list.`
          : `GitHub did not accept the session of ${state.login}: sign in again.`;
      // The server's words first (who it admits), without the status the stream appended.
      const said = state.message.replace(/ \(\d{3}\)$/, '');
      void vscode.window
        .showErrorMessage(`Delegate: ${said} ${how}`, state.status === 403 ? 'Sign In with Another Account' : 'Sign In Again', 'Use a Server Token')
        .then((choice) => {
          if (choice === 'Use a Server Token') void vscode.commands.executeCommand('delegate.setServerToken');
          else if (choice) void this.connection.signInWithGitHub(true);
        });
    }
  }

  private once(key: string): boolean {
    if (this.said.has(key)) return false;
    this.said.add(key);
    return true;
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
