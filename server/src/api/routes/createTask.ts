import { CreateTaskRequest, type RepoSpec } from '../../../../protocol';
import { bundleBlobKey } from '../../store/blobs';
import { bundleProblem, ensureBundleFile, localRepoProblem, unknownBundle } from '../../workspace/sources';
import { HttpError, readJson, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

/** Bundle tasks may carry the user's uncommitted changes as a patch: allow up to 25 MB. */
const LIMIT = 25 * 1024 * 1024;

/** What the server can see at once (a local path, an uploaded bundle): a task that can only fail is not made. */
async function repoProblem(repo: RepoSpec, login: string | null, deps: ApiDeps): Promise<string | null> {
  switch (repo.kind) {
    case 'local':
      return localRepoProblem(repo, deps.host);
    case 'bundle':
      // A user's bundle is content-addressed: its id alone must not let another user read it.
      if (login !== null && !(await deps.store.bundleOwners(repo.bundleId)).includes(login)) return unknownBundle(repo.bundleId);
      // Uploaded to another node of a fleet: fetched into this node's cache from the store.
      await ensureBundleFile(deps.config.dataDir, repo.bundleId, (id) => deps.store.getBlob(bundleBlobKey(id)));
      return bundleProblem(repo, deps.config.dataDir);
    case 'remote':
      return null;
  }
}

export const createTask = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks',
  body: true,
  async handle(ctx) {
    const body = await readJson(ctx, CreateTaskRequest, LIMIT);
    const login = ctx.principal?.kind === 'user' ? ctx.principal.login : null;
    // A local path is read as the server's own user: only the admin may name one.
    if (login !== null && body.repo.kind === 'local') {
      throw new HttpError('forbidden', 'a signed-in user names a remote repository or an uploaded bundle (POST /v1/bundles); local paths on the server are for its administrator');
    }
    const problem = await repoProblem(body.repo, login, deps);
    if (problem) throw new HttpError('repo_error', problem);
    sendJson(ctx.res, 201, await deps.tasks.create(body, login));
  },
});
