// Where the local companion server keeps its data (and its token), shared by the server and the
// extension so both find the same token file. Not part of protocol/index.ts: it needs Node.
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * DELEGATE_DATA_DIR, else for root /var/lib/delegate (a home dir of mode 0700 would hide the
 * workspaces from the sandbox user), else $XDG_DATA_HOME/delegate or ~/.local/share/delegate.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  if (env.DELEGATE_DATA_DIR) return env.DELEGATE_DATA_DIR;
  if (uid === 0) return '/var/lib/delegate';
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'delegate');
}
