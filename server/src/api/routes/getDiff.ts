import type { Route } from '../http';
import type { ApiDeps } from './deps';

export const getDiff = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks/:id/diff',
  query: ['path'],
  async handle({ res, params, url }) {
    const workspace = await deps.tasks.workspace(params.id!);
    const paths = url.searchParams.getAll('path');
    const diff = await workspace.diff(paths.length ? paths : undefined);
    res.writeHead(200, { 'content-type': 'text/x-diff; charset=utf-8', 'content-length': Buffer.byteLength(diff), 'cache-control': 'no-store' });
    res.end(diff);
  },
});
