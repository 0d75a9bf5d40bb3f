import { RelativePath } from '../../../../protocol';
import { HttpError, type Route } from '../http';
import type { ApiDeps } from './deps';
import { checkpointParam } from './getDiff';

/**
 * GET /v1/tasks/:id/file?path=P&side=base|head[&checkpoint=V] — raw bytes of one version of a
 * file; with `checkpoint`, the head side is the file as that checkpoint kept it.
 */
export const getFile = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks/:id/file',
  query: ['path', 'side', 'checkpoint'],
  async handle({ res, params, url }) {
    const path = url.searchParams.get('path');
    const side = url.searchParams.get('side') ?? 'head';
    if (path === null || !RelativePath.safeParse(path).success) {
      throw new HttpError('validation_failed', 'path: a relative path inside the repository is required');
    }
    if (side !== 'base' && side !== 'head') throw new HttpError('validation_failed', 'side: expected base or head');
    const checkpoint = checkpointParam(url);
    let data: Buffer | null;
    try {
      // The checkpoint is looked up on either side: an unknown one is 404 whatever the side.
      const at = checkpoint === null ? null : await deps.tasks.checkpoint(params.id!, checkpoint);
      data = at && side === 'head' ? await at.read(path) : await (await deps.tasks.workspace(params.id!)).readVersion(side, path);
    } catch (err) {
      if ((err as Error).name === 'WorkspacePathError') throw new HttpError('validation_failed', (err as Error).message);
      throw err;
    }
    if (data === null) throw new HttpError('not_found', `${path} does not exist on the ${side} side${checkpoint === null ? '' : ` of checkpoint ${checkpoint}`}`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length, 'cache-control': 'no-store' });
    res.end(data);
  },
});
