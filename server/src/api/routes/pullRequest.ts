import { PullRequestRequest } from '../../../../protocol';
import { loginOf } from '../githubAuth';
import { readJson, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const pullRequest = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks/:id/pull-request',
  body: true,
  async handle(ctx) {
    const body = await readJson(ctx, PullRequestRequest, 4 * 1024 * 1024);
    sendJson(ctx.res, 201, await deps.pullRequests.open(ctx.params.id!, body, ctx.principal && loginOf(ctx.principal)));
  },
});
