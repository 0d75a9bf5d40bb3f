import { loginOf } from '../githubAuth';
import type { Route } from '../http';
import type { ApiDeps } from './deps';

export const deleteTask = (deps: ApiDeps): Route => ({
  method: 'DELETE',
  path: '/v1/tasks/:id',
  async handle({ res, params, principal }) {
    await deps.tasks.remove(params.id!, principal && loginOf(principal));
    res.writeHead(204).end();
  },
});
