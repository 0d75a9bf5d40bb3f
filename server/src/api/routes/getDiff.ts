import { DiffVersion, RelativePath } from '../../../../protocol';
import { DIFF_VERSION_HEADER } from '../../tasks/diffRecorder';
import { HttpError, type Route } from '../http';
import type { ApiDeps } from './deps';

/**
 * GET /v1/tasks/:id/diff[?path=P…][&checkpoint=V] — the unified diff, optionally of some paths
 * only; with `checkpoint`, the diff as that checkpoint (a diffVersion) kept it.
 */
export const getDiff = (deps: ApiDeps): Route => ({
  method: 'GET',
  path: '/v1/tasks/:id/diff',
  query: ['path', 'checkpoint'],
  async handle({ res, params, url }) {
    const paths = url.searchParams.getAll('path');
    if (paths.length > 1000) throw new HttpError('validation_failed', 'path: at most 1000 paths per request');
    const bad = paths.find((p) => !RelativePath.safeParse(p).success);
    if (bad !== undefined) throw new HttpError('validation_failed', `path: ${JSON.stringify(bad)} is not a relative path inside the repository`);
    const checkpoint = checkpointParam(url);
    let diff: string;
    let version: Record<string, string> = {};
    try {
      if (checkpoint !== null) {
        // A checkpoint's diff never changes: its version is the one asked for, with or without paths.
        diff = await (await deps.tasks.checkpoint(params.id!, checkpoint)).diff(paths.length ? paths : undefined);
        version = { [DIFF_VERSION_HEADER]: checkpoint };
      } else {
        const workspace = await deps.tasks.workspace(params.id!);
        // The whole diff's version: review decisions name it (a pull request's accept.diffVersion).
        if (paths.length) diff = await workspace.diff(paths);
        else {
          const whole = await workspace.versionedDiff();
          diff = whole.diff;
          version = { [DIFF_VERSION_HEADER]: whole.version };
        }
      }
    } catch (err) {
      if ((err as Error).name === 'WorkspacePathError') throw new HttpError('validation_failed', `path: ${(err as Error).message}`);
      throw err;
    }
    res.writeHead(200, { 'content-type': 'text/x-diff; charset=utf-8', 'content-length': Buffer.byteLength(diff), 'cache-control': 'no-store', ...version });
    res.end(diff);
  },
});

/** The `checkpoint` query parameter (a diffVersion), null when absent; malformed is 422. */
export function checkpointParam(url: URL): string | null {
  const all = url.searchParams.getAll('checkpoint');
  if (all.length === 0) return null;
  const parsed = DiffVersion.safeParse(all[0]);
  if (all.length > 1 || !parsed.success) throw new HttpError('validation_failed', 'checkpoint: expected one diff version (16 hex digits)');
  return parsed.data;
}
