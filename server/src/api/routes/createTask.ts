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
    if (body.repo.kind === 'remote' && /^[a-z]+:\/\/[^/]*@/i.test(body.repo.url) && !/^ssh:\/\/git@/i.test(body.repo.url)) {
      throw new HttpError('validation_failed', 'repo.url: credentials in the URL are refused; the server fetches with the token you pass per request');
    }
    // The server sees a local path at once: a task that can only fail is not made.
    if (body.repo.kind === 'local') {
      const problem = await localRepoProblem(body.repo);
      if (problem) throw new HttpError('repo_error', problem);
    }
    sendJson(ctx.res, 201, deps.tasks.create(body));
  },
});
