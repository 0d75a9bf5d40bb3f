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
    const login = ctx.principal?.kind === 'user' ? ctx.principal.login : null;
    // A user's bundle is content-addressed: its id alone must not let another user read it.
    const foreignBundle = body.repo.kind === 'bundle' && login !== null && !deps.bundleOwners.get(body.repo.bundleId)?.has(login);
    // A local path is read as the server's own user: only the admin may name one.
    if (login !== null && body.repo.kind === 'local') {
      throw new HttpError('forbidden', 'a signed-in user names a remote repository or an uploaded bundle (POST /v1/bundles); local paths on the server are for its administrator');
    }
    const problem = foreignBundle
      ? `bundle ${(body.repo as { bundleId: string }).bundleId} is unknown or not a valid git bundle; upload it again`
      : body.repo.kind === 'local' ? await localRepoProblem(body.repo, deps.config.hostEnv) : body.repo.kind === 'bundle' ? await bundleProblem(body.repo, deps.config.dataDir) : null;
    if (problem) throw new HttpError('repo_error', problem);
    sendJson(ctx.res, 201, deps.tasks.create(body, login));
  },
});
