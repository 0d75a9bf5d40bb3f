import { HttpError, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

/** GET /v1/tasks/:id/events?since=N — the task's events as JSON, for clients without WebSocket. */
export const taskEvents = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks/:id/events',
  query: ['since', 'limit'],
  async handle({ res, params, url }) {
    await deps.tasks.get(params.id!);
    const since = Number(url.searchParams.get('since') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    if (!Number.isInteger(since) || since < 0) throw new HttpError('validation_failed', 'since must be a non-negative integer');
    if (!Number.isInteger(limit) || limit < 1 || limit > 5000) throw new HttpError('validation_failed', 'limit must be 1..5000');
    const events = await deps.store.eventsSince(since, limit, new Set([params.id!]));
    sendJson(res, 200, { events, lastSeq: await deps.store.lastSeq() });
  },
});
