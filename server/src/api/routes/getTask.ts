import { sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const getTask = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks/:id',
  async handle({ res, params }) {
    sendJson(res, 200, await deps.tasks.get(params.id!));
  },
});
