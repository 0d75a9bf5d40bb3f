// Typed access to the `delegate.*` settings (declared with descriptions in package.json).
import * as vscode from 'vscode';
import type { NetworkMode } from '../protocol';
import { defaultDataDir } from '../protocol/dataDir';

export interface DelegateSettings {
  serverUrl: string;
  localDataDir: string;
  serverCommand: string;
  autoStartServer: boolean;
  defaultModel: string | undefined;
  defaultAttempts: number;
  defaultNetwork: NetworkMode;
  notifications: 'all' | 'questions' | 'off';
  openPanelOnDelegate: boolean;
}

export function readSettings(): DelegateSettings {
  const c = vscode.workspace.getConfiguration('delegate');
  const network = c.get<string>('defaultNetwork', 'off');
  const notifications = c.get<string>('notifications', 'all');
  return {
    serverUrl: c.get<string>('serverUrl', 'http://127.0.0.1:7420').trim() || 'http://127.0.0.1:7420',
    localDataDir: c.get<string>('localDataDir', '').trim() || defaultDataDir(),
    serverCommand: c.get<string>('serverCommand', 'npx delegate-server').trim() || 'npx delegate-server',
    autoStartServer: c.get<boolean>('autoStartServer', false),
    defaultModel: c.get<string>('defaultModel', '').trim() || undefined,
    defaultAttempts: Math.min(4, Math.max(1, Math.round(c.get<number>('defaultAttempts', 1)))),
    defaultNetwork: network === 'setup' || network === 'on' ? network : 'off',
    notifications: notifications === 'questions' || notifications === 'off' ? notifications : 'all',
    openPanelOnDelegate: c.get<boolean>('openPanelOnDelegate', true),
  };
}
