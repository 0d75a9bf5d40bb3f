// Review documents live under their own scheme: `delegate-review:/<path>?task=<id>&side=base|head`.
// The path stays the file's own so VS Code picks the language from its extension.
import * as vscode from 'vscode';

export const REVIEW_SCHEME = 'delegate-review';

export type Side = 'base' | 'head';

export interface ReviewTarget {
  taskId: string;
  path: string;
  side: Side;
}

export function toReviewUri(target: ReviewTarget): vscode.Uri {
  const query = new URLSearchParams({ task: target.taskId, side: target.side }).toString();
  return vscode.Uri.from({ scheme: REVIEW_SCHEME, path: `/${target.path}`, query });
}

export function fromReviewUri(uri: vscode.Uri): ReviewTarget | undefined {
  if (uri.scheme !== REVIEW_SCHEME) return undefined;
  return parseTarget(uri);
}

/**
 * A checkpoint's documents (`delegate-checkpoint:/<path>?task=<id>&side=…&checkpoint=<version>`)
 * have a scheme of their own: they are a look back, not the review, so no Accept / Reject CodeLens
 * or menus apply to them, and they never change.
 */
export const CHECKPOINT_SCHEME = 'delegate-checkpoint';

export interface CheckpointTarget extends ReviewTarget {
  checkpoint: string;
}

export function toCheckpointUri(target: CheckpointTarget): vscode.Uri {
  const query = new URLSearchParams({ task: target.taskId, side: target.side, checkpoint: target.checkpoint }).toString();
  return vscode.Uri.from({ scheme: CHECKPOINT_SCHEME, path: `/${target.path}`, query });
}

export function fromCheckpointUri(uri: vscode.Uri): CheckpointTarget | undefined {
  if (uri.scheme !== CHECKPOINT_SCHEME) return undefined;
  const target = parseTarget(uri);
  const checkpoint = new URLSearchParams(uri.query).get('checkpoint');
  return target && checkpoint ? { ...target, checkpoint } : undefined;
}

function parseTarget(uri: vscode.Uri): ReviewTarget | undefined {
  const params = new URLSearchParams(uri.query);
  const taskId = params.get('task');
  const side = params.get('side');
  if (!taskId || (side !== 'base' && side !== 'head')) return undefined;
  return { taskId, path: uri.path.replace(/^\//, ''), side };
}
