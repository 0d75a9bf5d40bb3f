import { CreateTaskRequest } from '../../../../protocol';
import { bundleProblem, localRepoProblem } from '../../workspace/sources';
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
    // What the server can see at once (a local path, an uploaded bundle): a task that can only fail is not made.
    const problem =
      body.repo.kind === 'local' ? await localRepoProblem(body.repo, deps.config.hostEnv) : body.repo.kind === 'bundle' ? await bundleProblem(body.repo, deps.config.dataDir) : null;
    if (problem) throw new HttpError('repo_error', problem);
    sendJson(ctx.res, 201, deps.tasks.create(body));
  },
});
