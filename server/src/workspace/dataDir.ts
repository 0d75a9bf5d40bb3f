// The data dir's own directories, and its reachability by the sandbox user.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Makes DATA/tmp and DATA/repos. The sandbox user must reach the views and bases (bwrap binds them
 * as that user; checkouts run as that user): every directory above them needs o+x. DATA itself is
 * ours to open up for traversal only (no listing; the token file stays 0600); a parent we refuse
 * to touch.
 */
export async function readyDataDir(dataDir: string, sandboxUid: number): Promise<void> {
  await mkdir(join(dataDir, 'tmp'), { recursive: true });
  await mkdir(join(dataDir, 'repos'), { recursive: true });
  if (process.getuid?.() !== 0) return;
  const data = resolve(dataDir);
  for (let dir = data; ; dir = dirname(dir)) {
    const st = await stat(dir).catch(() => null);
    if (st && (st.mode & 0o001) === 0) {
      if (dir !== data) throw new Error(`data dir ${data}: ${dir} is not traversable by the sandbox user (uid ${sandboxUid}); chmod o+x it`);
      await chmod(dir, (st.mode & 0o7777) | 0o001);
    }
    if (dir === dirname(dir)) return;
  }
}
