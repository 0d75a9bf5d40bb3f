import type { Config } from '../../config';
import type { PullRequestService } from '../../github/pullRequestService';
import type { Health } from '../../../../protocol';
import type { Store } from '../../store/types';
import type { TaskService } from '../../tasks/service';
import type { Host } from '../../workspace/git';
import type { WorkspaceManager } from '../../workspace/types';

/** What route handlers may use; built once in main. */
export interface ApiDeps {
  config: Config;
  /** How the server's own processes start and what they see of its environment (a local repository's git). */
  host: Host;
  version: string;
  store: Store;
  tasks: TaskService;
  pullRequests: PullRequestService;
  workspaces: WorkspaceManager;
  /** A fleet node's also lists the live nodes, from the database. */
  health: () => Health | Promise<Health>;
}
