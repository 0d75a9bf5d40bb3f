// Shared setup for workspace tests: a temp root reachable by the sandbox uid, a manager over it,
// and cleanup that unmounts whatever is still mounted below the root, even after a failure.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { hostEnvOf } from '../../../server/src/config';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { createWorkspaceManager, RepoWatches, type Workspace, type WorkspaceManager, type PrepareOptions } from '../../../server/src/workspace';
import { parseMountInfo } from '../../../server/src/workspace/parse';
import { loggerFrom } from '../../../server/src/log';

export const MODES = ['overlay', 'checkout'] as const;
export type Mode = (typeof MODES)[number];
export const SANDBOX_UID = 1500;

/**
 * DELEGATE_TEST_REPO_WATCH=on: every manager gets the repository watch in front of its scanner
 * (the server's default); otherwise the plain scanner alone. The tests pass either way.
 */
export const REPO_WATCH = process.env.DELEGATE_TEST_REPO_WATCH === 'on';

/** DELEGATE_TEST_PLAIN=1: no base is flattened in the background unless a test asks for it. */
const FLATTEN_BASES = process.env.DELEGATE_TEST_PLAIN !== '1';

export interface Fixture {
  root: string;
  dataDir: string;
  manager: WorkspaceManager;
  /** What the managers logged ("level message"). */
  logs: string[];
  /** A new manager over the same data dir, as after a server restart. */
  restart(): WorkspaceManager;
  prepare(options: PrepareOptions): Promise<Workspace>;
  cleanup(): Promise<void>;
}

export function mountsUnder(root: string): string[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
    .map((m) => m.mountPoint)
    .filter((p) => p === root || p.startsWith(root + '/'));
}

/**
 * `prepareAhead`: off unless a test asks (the server's default is on). These tests commit and
 * prepare back to back and look at the bases a task built; ahead.test.ts tests the layer.
 */
export function makeFixture(name: string, options: { watches?: RepoWatches; flattenBases?: boolean; prepareAhead?: boolean } = {}): Fixture {
  const root = mkdtempSync(join(tmpdir(), `delegate-ws-${name}-`));
  chmodSync(root, 0o755); // the sandbox uid checks out bases and views below it
  const dataDir = join(root, 'data');
  const logs: string[] = [];
  const watches = options.watches ?? (REPO_WATCH ? new RepoWatches({ firstScanDelayMs: 0 }) : undefined);
  const managers: WorkspaceManager[] = [];
  const create = () => {
    const manager = createWorkspaceManager({ dataDir, sandboxUid: SANDBOX_UID, host: { runner: new SpawnRunner(), env: hostEnvOf(process.env) }, log: loggerFrom((level, msg) => void logs.push(`${level} ${msg}`)), watches, flattenBases: options.flattenBases ?? FLATTEN_BASES, prepareAhead: options.prepareAhead ?? false });
    managers.push(manager);
    return manager;
  };
  const prepared: Workspace[] = [];
  const fixture: Fixture = {
    root,
    dataDir,
    logs,
    manager: create(),
    restart: create,
    async prepare(options) {
      const ws = await fixture.manager.prepare(options);
      prepared.push(ws);
      return ws;
    },
    async cleanup() {
      // What the managers still do beside the tasks (a base being flattened) writes in the root.
      for (const manager of managers) await manager.stop();
      for (const ws of prepared) await ws.destroy().catch(() => undefined);
      if (watches !== options.watches) await watches?.close();
      // Deepest first; lazily if something still holds a mount.
      for (const m of mountsUnder(root).sort((a, b) => b.length - a.length)) {
        try {
          execFileSync('umount', [m]);
        } catch {
          execFileSync('umount', ['-l', m]);
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}
