import type { Config } from '../../config';
import type { PullRequestService } from '../../github/pullRequestService';
import type { Health } from '../../../../protocol';
import type { Store } from '../../store/types';
import type { TaskService } from '../../tasks/service';
import type { WorkspaceManager } from '../../workspace/types';

/** What route handlers may use; built once in main. */
export interface ApiDeps {
  config: Config;
  version: string;
  store: Store;
  tasks: TaskService;
  pullRequests: PullRequestService;
  workspaces: WorkspaceManager;
  /** A fleet node's also lists the live nodes, from the database. */
  health: () => Health | Promise<Health>;
}
