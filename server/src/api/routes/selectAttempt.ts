import { SelectAttemptRequest } from '../../../../protocol';
import { readJson, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const selectAttempt = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks/:id/select-attempt',
  body: true,
  async handle(ctx) {
    const body = await readJson(ctx, SelectAttemptRequest);
    sendJson(ctx.res, 200, await deps.tasks.selectAttempt(ctx.params.id!, body.attempt));
  },
});
