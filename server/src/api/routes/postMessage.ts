import { MessageRequest } from '../../../../protocol';
import { loginOf } from '../githubAuth';
import { readJson, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const postMessage = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/tasks/:id/messages',
  body: true,
  async handle(ctx) {
    const body = await readJson(ctx, MessageRequest, 256 * 1024);
    const actor = ctx.principal && loginOf(ctx.principal);
    sendJson(ctx.res, 202, await deps.tasks.message(ctx.params.id!, body.text, { fromCheckpoint: body.fromCheckpoint, actor }));
  },
});
