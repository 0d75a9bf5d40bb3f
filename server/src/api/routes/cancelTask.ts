import { loginOf } from '../githubAuth';
import { sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const cancelTask = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks/:id/cancel',
  async handle({ res, params, principal }) {
    sendJson(res, 200, await deps.tasks.cancel(params.id!, principal && loginOf(principal)));
  },
});
