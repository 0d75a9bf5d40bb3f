import { sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const listTasks = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks',
  async handle({ res, principal }) {
    const tasks = await deps.tasks.list();
    // A user sees their own tasks; the admin every task.
    sendJson(res, 200, { tasks: principal?.kind === 'user' ? tasks.filter((t) => t.owner === principal.login) : tasks });
  },
});
