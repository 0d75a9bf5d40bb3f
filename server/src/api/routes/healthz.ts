import { sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';

export const healthz = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/healthz',
  auth: false,
  async handle({ res }) {
    sendJson(res, 200, await deps.health());
  },
});
