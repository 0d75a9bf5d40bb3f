// An uploaded bundle is checked whole when it arrives, without a repository: `git bundle verify`
// needs one and reads only the header, so the pack after the header goes through `git
// index-pack`, which inflates and hashes every object and checks the pack's trailer.
import { open, mkdtemp, rm } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { firstLine, runGit, type GitRun } from './git';

/** The largest bundle header read (refs and prerequisites; ~60 bytes a line). */
const MAX_HEADER = 16 * 1024 * 1024;

interface BundleHeader {
  /** Byte offset of the pack. */
  packStart: number;
  prerequisites: number;
  objectFormat: string | undefined;
}

async function readHeader(file: string): Promise<BundleHeader | null> {
  const handle = await open(file, 'r');
  try {
    let text = Buffer.alloc(0);
    const chunk = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, text.length);
      if (bytesRead === 0) return null;
      text = Buffer.concat([text, chunk.subarray(0, bytesRead)]);
      const end = text.indexOf('\n\n');
      if (end >= 0) {
        const lines = text.subarray(0, end).toString('utf8').split('\n');
        return {
          packStart: end + 2,
          prerequisites: lines.filter((l) => l.startsWith('-')).length,
          objectFormat: lines.find((l) => l.startsWith('@object-format='))?.slice('@object-format='.length),
        };
      }
      if (text.length > MAX_HEADER) return null;
    }
  } finally {
    await handle.close();
  }
}

/** Why the bundle's pack is unusable, or null when git can read every object in it. */
export async function bundlePackProblem(file: string, run: Omit<GitRun, 'cwd' | 'env'>): Promise<string | null> {
  const header = await readHeader(file);
  if (!header) return 'the bundle header does not end';
  const dir = await mkdtemp(join(dirname(file), 'check-'));
  try {
    const pack = join(dir, 'upload.pack');
    await pipeline(createReadStream(file, { start: header.packStart }), createWriteStream(pack, { mode: 0o600 }));
    const format = header.objectFormat ? [`--object-format=${header.objectFormat}`] : [];
    // No repository around it: the pack stands alone.
    const r = await runGit(['index-pack', ...format, pack], { ...run, cwd: dir, env: { GIT_CEILING_DIRECTORIES: dirname(dir) } });
    if (r.code === 0) return null;
    // A bundle that builds on commits (prerequisites) may hold deltas against them; every object
    // was still read and hashed by then.
    if (header.prerequisites > 0 && /unresolved delta/i.test(r.stderr)) return null;
    return `its pack is damaged (${firstLine(r.stderr).replace(/^fatal: /, '') || `git index-pack exited with ${r.code}`})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
