// What an overlay view can differ in from its base, read from the overlay's layers instead of
// scanning the whole view: every entry of the upper layer (changed and new files, directories new
// in the upper layer, whiteouts of deleted ones), plus base entries the view no longer shows
// without a whiteout (under an opaque directory: `rm -rf dir && mkdir dir`). The cost follows
// what the task changed, not the size of the repository.
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface OverlayLayers {
  /** The overlay's upper directory (the task's writes). */
  upper: string;
  /** The base's layers under it, top first (bases.ts). */
  lower: string[];
  /** The mounted view. */
  view: string;
}

export interface OverlayChanges {
  /** Paths (relative to the view, '/'-separated) that may differ from the base. */
  paths: string[];
  /**
   * Every upper entry's path, type, mode, size, inode and ctime (ns), plus the hidden base
   * paths: equal signatures mean equal views, since the base never changes and every write,
   * delete, chmod or rename in the view changes an upper entry's ctime or the set of entries.
   */
  signature: string;
}

/**
 * What may differ from the base, or null when there are more than `limit` entries to look at: a
 * full scan is then as cheap and simpler.
 */
export async function overlayChangedPaths(layers: OverlayLayers, limit: number): Promise<OverlayChanges | null> {
  const out: string[] = [];
  const signature: string[] = [];
  let budget = limit;
  // Directories present in both layers, to look into; '' is the root.
  const pending: string[] = [''];
  while (pending.length > 0) {
    const rel = pending.pop()!;
    const upper = await entries(join(layers.upper, rel));
    budget -= upper.length;
    if (budget < 0) return null;
    const seen = new Set<string>();
    const stats = await Promise.all(upper.map((entry) => (isGitMountPoint(rel, entry.name) ? Promise.resolve(null) : lstat(join(layers.upper, rel, entry.name), { bigint: true }).catch(() => null))));
    for (const [i, entry] of upper.entries()) {
      if (isGitMountPoint(rel, entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const st = stats[i];
      signature.push(st ? `${path}\0${st.mode}:${st.size}:${st.ino}:${st.ctimeNs}` : `${path}\0gone`);
      seen.add(entry.name);
      // Never follows links: an entry is looked into only when it is a real directory in both.
      if (entry.isDirectory() && (await lowerKind(layers.lower, path)) === 'dir') pending.push(path);
      else out.push(path);
    }
    // A base entry missing from the view without an upper entry of its name: hidden by an opaque dir.
    const lower = await lowerEntries(layers.lower, rel);
    budget -= lower.length;
    if (budget < 0) return null;
    const hidden = lower.filter((e) => !seen.has(e.name) && !isGitMountPoint(rel, e.name));
    if (hidden.length === 0) continue;
    const visible = new Set((await entries(join(layers.view, rel))).map((e) => e.name));
    for (const e of hidden) {
      if (visible.has(e.name)) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      out.push(path);
      signature.push(`${path}\0hidden`);
    }
  }
  return { paths: out, signature: signature.join('\n') };
}

/** The sandbox mounts the trusted git dir on /workspace/.git: its mount point is not work. */
function isGitMountPoint(dir: string, name: string): boolean {
  return dir === '' && name === '.git';
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // Gone or replaced by a file since its parent was read: nothing to look into.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

type Kind = 'dir' | 'other' | 'whiteout' | 'none';

async function kindIn(layer: string, rel: string): Promise<Kind> {
  const st = await lstat(join(layer, rel)).catch(() => null);
  if (st) return st.isDirectory() ? 'dir' : st.isCharacterDevice() && st.rdev === 0 ? 'whiteout' : 'other';
  // Not there: but a file or whiteout in place of one of its directories hides the layers below.
  for (let up = dirname(rel); up !== '.' && up !== ''; up = dirname(up)) {
    const a = await lstat(join(layer, up)).catch(() => null);
    if (a && !a.isDirectory()) return 'whiteout';
  }
  return 'none';
}

/** What the base shows at `rel`, as the overlay does: the topmost layer that has it decides. */
async function lowerKind(layers: string[], rel: string): Promise<Kind> {
  for (const layer of layers) {
    const kind = await kindIn(layer, rel);
    if (kind !== 'none') return kind;
  }
  return 'none';
}

/** The base's entries in directory `rel`: merged over the layers, whiteouts hiding what is below. */
async function lowerEntries(layers: string[], rel: string): Promise<Dirent[]> {
  const shown = new Map<string, Dirent>();
  const hidden = new Set<string>();
  for (const layer of layers) {
    const kind = await kindIn(layer, rel);
    if (kind === 'none') continue;
    if (kind !== 'dir') break;
    for (const e of await entries(join(layer, rel))) {
      if (shown.has(e.name) || hidden.has(e.name)) continue;
      if (e.isCharacterDevice()) hidden.add(e.name);
      else shown.set(e.name, e);
    }
  }
  return [...shown.values()];
}
