// The cache of set-up layers on disk, shared by the tasks of this server:
//   DATA/environments/<key>/layer       what the setup left: an overlay upper dir, read-only from now on
//   DATA/environments/<key>/index       the set-up tree's index (stat data as the view shows the files)
//   DATA/environments/<key>/pack/*      objects of the set-up tree the commit lacks (may be empty)
//   DATA/environments/<key>/meta.json   tree, size, when built
//   DATA/environments/<key>/used        its mtime: when a task last took the layer (least recently used goes first)
//   DATA/environments/.tmp-*            a layer being built; never read, removed at start
// An entry exists only complete: it is built in a temp dir, synced to disk and renamed into place,
// so a crash (kill -9 mid-setup, a power cut) leaves a temp dir, never a half-written entry.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log';
import type { SetupLayer } from '../workspace/types';
import type { ProcessRunner } from '../util/processRunner';
import { run, unmount } from '../workspace/view';

export const LayerMeta = z.object({
  version: z.literal(1),
  tree: z.string(),
  bytes: z.number().nonnegative(),
  createdAt: z.string(),
  /** The docker image the layer was made in (the task's sandbox uses the same). */
  image: z.string().optional(),
  /** The commit of `tree` in the pack, by the user's commit it sits on. */
  commits: z.record(z.string(), z.string()).optional(),
});
export type LayerMeta = z.infer<typeof LayerMeta>;

export interface CacheBounds {
  maxBytes: number;
  maxAgeMs: number;
}

export class LayerCache {
  readonly root: string;

  constructor(
    dataDir: string,
    private readonly runner: ProcessRunner,
    private readonly bounds: CacheBounds,
    private readonly log: Logger,
  ) {
    this.root = join(dataDir, 'environments');
  }

  dirOf(key: string): string {
    return join(this.root, key, 'layer');
  }

  /** A complete entry, marked used now; null when there is none. */
  async lookup(key: string): Promise<(SetupLayer & { meta: LayerMeta }) | null> {
    const entry = join(this.root, key);
    const meta = await readMeta(entry);
    if (!meta) return null;
    const now = new Date();
    await utimes(join(entry, 'used'), now, now).catch(() => undefined);
    const packs = (await readdir(join(entry, 'pack')).catch(() => [] as string[])).filter((n) => /\.(pack|idx)$/.test(n)).map((n) => join(entry, 'pack', n));
    return { id: key, dir: join(entry, 'layer'), index: join(entry, 'index'), tree: meta.tree, packs, commits: meta.commits ?? {}, meta };
  }

  /** A fresh temp dir for a build (under the cache: the rename into place stays on one filesystem). */
  async temp(): Promise<string> {
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    const dir = join(this.root, `.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o755 });
    return dir;
  }

  /**
   * Makes the built temp dir (layer/, index, pack/ inside) the entry `key`: meta written, every
   * file on disk (syncfs), then one rename. An entry of that key already there (built meanwhile
   * by another server on this data dir) stands; the temp dir is then dropped.
   */
  async commit(tmp: string, key: string, meta: LayerMeta): Promise<void> {
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta));
    await writeFile(join(tmp, 'used'), '');
    const synced = await run(this.runner, 'sync', ['-f', tmp]);
    if (synced.code !== 0) throw new Error(`syncing the set-up layer failed: ${synced.stderr.trim()}`);
    try {
      await rename(tmp, join(this.root, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.discard(tmp);
      return;
    }
    const dir = await open(this.root, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Removes a temp dir (its view unmounted first, if a build left it mounted). */
  async discard(tmp: string): Promise<void> {
    await unmount(this.runner, join(tmp, 'view'));
    await rm(tmp, { recursive: true, force: true });
  }

  /** What servers that died mid-build left (their temp dirs): removed; call before the first build. */
  async sweep(): Promise<number> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    const stale = names.filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'));
    for (const name of stale) await this.discard(join(this.root, name));
    return stale.length;
  }

  /**
   * Drops entries unused for longer than maxAgeMs, then the least recently used until the rest fit
   * in maxBytes. `pinned`: entries a workspace stacks on, never removed.
   */
  async evict(pinned: (key: string) => Promise<boolean>): Promise<string[]> {
    const names = (await readdir(this.root).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
    const entries = (
      await Promise.all(
        names.map(async (key) => {
          const entry = join(this.root, key);
          const meta = await readMeta(entry);
          const used = await stat(join(entry, 'used')).then((s) => s.mtimeMs, () => 0);
          return meta ? { key, bytes: meta.bytes, used } : { key, bytes: 0, used: 0 };
        }),
      )
    ).sort((a, b) => a.used - b.used);
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    const removed: string[] = [];
    const now = Date.now();
    for (const e of entries) {
      const old = now - e.used > this.bounds.maxAgeMs;
      if (!old && total <= this.bounds.maxBytes) continue;
      if (await pinned(e.key)) continue;
      // Out of sight first (one rename), then deleted: a lookup never sees a half-removed entry.
      const trash = join(this.root, `.trash-${randomBytes(6).toString('hex')}`);
      if (!(await rename(join(this.root, e.key), trash).then(() => true, () => false))) continue;
      await rm(trash, { recursive: true, force: true });
      total -= e.bytes;
      removed.push(e.key);
    }
    if (removed.length > 0) this.log.info('set-up layers evicted', { count: removed.length, bytesLeft: total });
    return removed;
  }
}

async function readMeta(entry: string): Promise<LayerMeta | null> {
  try {
    const parsed = LayerMeta.safeParse(JSON.parse(await readFile(join(entry, 'meta.json'), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
