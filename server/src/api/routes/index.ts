import type { Route } from '../http';
import { cancelTask } from './cancelTask';
import { createTask } from './createTask';
import { deleteTask } from './deleteTask';
import type { ApiDeps } from './deps';
import { getDiff } from './getDiff';
import { getFile } from './getFile';
import { getTask } from './getTask';
import { healthz } from './healthz';
import { listTasks } from './listTasks';
import { postMessage } from './postMessage';
import { pullRequest } from './pullRequest';
import { selectAttempt } from './selectAttempt';
import { taskEvents } from './taskEvents';
import { uploadBundle } from './uploadBundle';
import { webRoutes } from './webApp';

export type { ApiDeps } from './deps';

export function routes(deps: ApiDeps): Route[] {
  return [healthz, createTask, listTasks, getTask, deleteTask, getDiff, getFile, postMessage, cancelTask, selectAttempt, pullRequest, uploadBundle, taskEvents].map((r) => r(deps)).concat(webRoutes(deps));
}
