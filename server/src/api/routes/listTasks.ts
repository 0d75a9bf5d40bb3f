import { sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const listTasks = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks',
  async handle({ res }) {
    sendJson(res, 200, { tasks: deps.tasks.list() });
  },
});
