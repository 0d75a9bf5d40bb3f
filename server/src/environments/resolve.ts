// Which environment a task works in, and the cache key of its setup. The environment comes from
// the task option `environment`, else the repository's `.delegate/environment.json` at the task's
// commit, else a plain setup script (the task option `setupScript`, or `.delegate/setup.sh`),
// which is an environment with that script, no image of its own and the network the task's
// `network` option gives setup. The files are read from the commit's base layers on disk (no git
// process on a task's way to its first command); the user's uncommitted edits of them do not count.
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EnvironmentSpec, type TaskOptions } from '../../../protocol';

export const ENVIRONMENT_FILE = '.delegate/environment.json';
export const SETUP_FILE = '.delegate/setup.sh';

/** An environment with a setup step to run (or to find cached). */
export interface Environment {
  spec: EnvironmentSpec & { setup: string };
  from: 'task option' | typeof ENVIRONMENT_FILE | 'setup script';
}

export type Resolved = { ok: true; environment: Environment | null; image: string | undefined } | { ok: false; message: string };

/** Reads a repository file at the task's commit; null when there is none. */
export type ReadRepoFile = (path: string) => Promise<Buffer | null>;

export async function resolveEnvironment(options: TaskOptions, read: ReadRepoFile): Promise<Resolved> {
  let spec: EnvironmentSpec | undefined = options.environment;
  let from: Environment['from'] = 'task option';
  if (!spec) {
    const file = await read(ENVIRONMENT_FILE);
    if (file) {
      let json: unknown;
      try {
        json = JSON.parse(file.toString('utf8'));
      } catch (err) {
        return { ok: false, message: `${ENVIRONMENT_FILE} is not JSON: ${(err as Error).message}` };
      }
      const parsed = EnvironmentSpec.safeParse(json);
      if (!parsed.success) return { ok: false, message: `${ENVIRONMENT_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
      spec = parsed.data;
      from = ENVIRONMENT_FILE;
    }
  }
  if (spec) return { ok: true, environment: spec.setup ? { spec: { ...spec, setup: spec.setup }, from } : null, image: spec.image };
  const script = options.setupScript || ((await read(SETUP_FILE)) ? `sh ${SETUP_FILE}` : undefined);
  if (!script) return { ok: true, environment: null, image: undefined };
  return { ok: true, environment: { spec: { setup: script, network: (options.network ?? 'off') !== 'off' }, from: 'setup script' }, image: undefined };
}

/**
 * The cache key of a setup's result: the commit's tree and everything that can change what the
 * script leaves behind (the sandbox it runs in, its image, script, variables, network, the names
 * of the secrets it gets; not their values, so rotating a token keeps the cache).
 */
export function environmentKey(tree: string, environment: Environment, sandbox: { driver: string; image: string | undefined }): string {
  const { spec } = environment;
  const material = {
    v: 1,
    tree,
    driver: sandbox.driver,
    image: spec.image ?? sandbox.image ?? null,
    setup: spec.setup,
    env: Object.entries(spec.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    network: spec.network === true,
    secrets: [...new Set(spec.secrets ?? [])].sort(),
  };
  return createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 40);
}

/**
 * A file as an overlay of `layers` (top first, bases.ts) shows it: the topmost layer that has it,
 * or a whiteout or a non-directory where one of its directories would be, decides.
 */
export function readFromLayers(layers: string[]): ReadRepoFile {
  return async (path) => {
    for (const layer of layers) {
      const st = await lstat(join(layer, path)).catch(() => null);
      if (st) return st.isFile() ? readFile(join(layer, path)) : null;
      for (let up = dirname(path); up !== '.' && up !== ''; up = dirname(up)) {
        const above = await lstat(join(layer, up)).catch(() => null);
        if (above && !above.isDirectory()) return null;
      }
    }
    return null;
  };
}
