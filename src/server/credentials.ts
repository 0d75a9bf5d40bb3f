// Which credential goes to the server. A server whose /healthz says it takes GitHub sign-in
// (auth.github: started with --github-allow) gets the user's VS Code GitHub session, so a teammate
// pastes no token and sees their own tasks; a server token the user set with Set Server Token still
// wins there (the administrator's explicit choice). Any other server gets the server token as
// before. The GitHub token stays with VS Code's authentication service: it is read per connection,
// sent in the Authorization header, and never written anywhere (SecretStorage holds only the
// server token).
import * as vscode from 'vscode';
import { Health } from '../../protocol';
import { joinUrl } from './apiClient';
import type { TokenSource } from './tokenSource';

/** Enough for the server to read who is signing in (GET /user) and their organisations. */
export const GITHUB_SCOPES: readonly string[] = ['read:user', 'read:org'];

export type Credential =
  | { kind: 'server'; token: string | undefined }
  | { kind: 'github'; token: string; login: string }
  /** The server wants GitHub sign-in and VS Code has no session the extension may use yet. */
  | { kind: 'signInNeeded' };

/** How long a server's answer to "do you take GitHub sign-in?" is trusted before asking again. */
const MODE_TTL_MS = 30_000;

export class Credentials implements vscode.Disposable {
  private readonly modes = new Map<string, { github: boolean; at: number }>();
  private readonly changed = new vscode.EventEmitter<void>();
  /** The GitHub sessions changed (signed in, out, or another account): connect again. */
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly tokens: TokenSource) {
    this.subscription = vscode.authentication.onDidChangeSessions((e) => {
      if (e.provider.id === 'github') this.changed.fire();
    });
  }

  async resolve(serverUrl: string, localDataDir: string): Promise<Credential> {
    const stored = await this.tokens.stored();
    if (stored) return { kind: 'server', token: stored };
    if (!(await this.wantsGitHub(serverUrl))) return { kind: 'server', token: await this.tokens.fallback(serverUrl, localDataDir) };
    const session = await this.session({ silent: true });
    return session ? { kind: 'github', token: session.accessToken, login: session.account.label } : { kind: 'signInNeeded' };
  }

  /**
   * Signs in to GitHub through VS Code (its own dialogs). `switchAccount` asks for a new session,
   * e.g. another account after the server refused this one. Undefined when the user declined.
   */
  async signIn(switchAccount = false): Promise<vscode.AuthenticationSession | undefined> {
    return this.session(switchAccount ? { forceNewSession: { detail: 'The Delegate server did not admit the GitHub account you are signed in with.' } } : { createIfNone: true });
  }

  /** Forget what servers said about sign-in (settings changed, reconnect asked for). */
  forgetModes(): void {
    this.modes.clear();
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }

  private async session(options: vscode.AuthenticationGetSessionOptions): Promise<vscode.AuthenticationSession | undefined> {
    try {
      return await vscode.authentication.getSession('github', [...GITHUB_SCOPES], options);
    } catch {
      // No GitHub provider, or the user declined: the caller says what is needed.
      return undefined;
    }
  }

  /** Whether the server takes GitHub sign-in, from its /healthz (which needs no credential). */
  private async wantsGitHub(serverUrl: string): Promise<boolean> {
    const known = this.modes.get(serverUrl);
    if (known && Date.now() - known.at < MODE_TTL_MS) return known.github;
    let github = known?.github ?? false;
    try {
      const res = await fetch(joinUrl(serverUrl, '/healthz'), { signal: AbortSignal.timeout(5_000) });
      const parsed = Health.safeParse(await res.json());
      if (res.ok && parsed.success) github = parsed.data.auth?.github === true;
      this.modes.set(serverUrl, { github, at: Date.now() });
    } catch {
      // Unreachable: keep the last answer; the connection reports the outage itself.
    }
    return github;
  }
}
