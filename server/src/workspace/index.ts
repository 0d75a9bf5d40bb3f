// Per-task workspaces: mirrors, copy-on-write views, diffs, snapshots and confined file access.
import { LocalWorkspaceManager, type WorkspaceManagerOptions } from './manager';
import type { WorkspaceManager } from './types';

export type { WorkspaceManagerOptions } from './manager';
export { DEFAULT_DISK_BYTES } from './manager';
export { RepoWatches } from './repoWatch';
export * from './types';

export function createWorkspaceManager(options: WorkspaceManagerOptions): WorkspaceManager {
  return new LocalWorkspaceManager(options);
}
