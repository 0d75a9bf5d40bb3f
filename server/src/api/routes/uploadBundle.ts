import { contentTypeIs, HttpError, readBody, sendJson, type Route } from '../http';
import type { ApiDeps } from './deps';
import { bundleBlobKey } from '../../store/blobs';

const LIMIT = 512 * 1024 * 1024;

/** POST /v1/bundles — raw `git bundle` bytes → {bundleId} for {kind:"bundle"} tasks. */
export const uploadBundle = (deps: ApiDeps): Route => ({
  method: 'POST',
  path: '/v1/bundles',
  body: true,
  async handle(ctx) {
    if (!contentTypeIs(ctx.req, ['application/octet-stream', 'application/x-git-bundle'])) {
      throw new HttpError('unsupported_media_type', `expected application/octet-stream, got ${ctx.req.headers['content-type'] || 'none'}`);
    }
    const data = await readBody(ctx.req, LIMIT);
    if (data.length === 0) throw new HttpError('validation_failed', 'the bundle is empty');
    let bundleId: string;
    try {
      bundleId = await deps.workspaces.importBundle(data);
    } catch (err) {
      // The upload itself is wrong (its header or pack); anything else is the server's failure.
      if ((err as { code?: unknown }).code === 'repo_error') throw new HttpError('validation_failed', (err as Error).message);
      throw err;
    }
    // Kept on this node's disk (a cache) and in the store, where any node of a fleet fetches it.
    await deps.store.putBlob(bundleBlobKey(bundleId), data);
    await deps.store.addBundleOwner(bundleId, ctx.principal?.kind === 'user' ? ctx.principal.login : null);
    sendJson(ctx.res, 201, { bundleId });
  },
});
