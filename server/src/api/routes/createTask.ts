import { CreateTaskRequest } from '../../../../protocol';
import { localRepoProblem } from '../../workspace/sources';
import { HttpError, readJson, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

/** Bundle tasks may carry the user's uncommitted changes as a patch: allow up to 25 MB. */
const LIMIT = 25 * 1024 * 1024;

export const createTask = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks',
  body: true,
  async handle(ctx) {
    const body = await readJson(ctx, CreateTaskRequest, LIMIT);
    // The server sees a local path at once: a task that can only fail is not made.
    if (body.repo.kind === 'local') {
      const problem = await localRepoProblem(body.repo, deps.config.hostEnv);
      if (problem) throw new HttpError('repo_error', problem);
    }
    sendJson(ctx.res, 201, deps.tasks.create(body));
  },
});
