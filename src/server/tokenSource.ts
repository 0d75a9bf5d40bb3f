// Where the server token comes from, first match wins: the user's SecretStorage, the environment
// (DELEGATE_TOKEN), or the `token` file a local server writes into its data directory. The token is
// only ever held in memory and sent in the Authorization header.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as vscode from 'vscode';
import { isLoopbackUrl } from './apiClient';

const SECRET_KEY = 'delegate.serverToken';

export class TokenSource {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  async resolve(serverUrl: string, localDataDir: string): Promise<string | undefined> {
    return (await this.stored()) ?? this.fallback(serverUrl, localDataDir);
  }

  /** The token the user set with Set Server Token, if any. */
  async stored(): Promise<string | undefined> {
    return (await this.secrets.get(SECRET_KEY)) || undefined;
  }

  /** The token found without the user's help: DELEGATE_TOKEN, else a local server's token file. */
  async fallback(serverUrl: string, localDataDir: string): Promise<string | undefined> {
    const env = process.env.DELEGATE_TOKEN?.trim();
    if (env) return env;
    // A data dir token belongs to the server on this machine; never send it elsewhere.
    if (!isLoopbackUrl(serverUrl)) return undefined;
    try {
      return (await readFile(join(localDataDir, 'token'), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  store(token: string): Thenable<void> {
    return this.secrets.store(SECRET_KEY, token);
  }

  clear(): Thenable<void> {
    return this.secrets.delete(SECRET_KEY);
  }

  get onDidChange(): vscode.Event<vscode.SecretStorageChangeEvent> {
    return this.secrets.onDidChange;
  }
}
