// The fleet tests' shared setting: one real PostgreSQL, the scripted model, a repository, and
// three server nodes as processes with short leases (so a takeover happens within seconds).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFleet, type Fleet, type FleetOptions } from '../../support/fleet';
import { makeRepo } from '../../support/gitRepo';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { api } from '../../support/serverProcess';
import type { Task } from '../../../protocol';

/** Short enough for tests to see a takeover quickly, long enough for a loaded 2-core machine. */
export const LEASE_MS = 3000;

export interface FleetSetting {
  pg: TestPostgres;
  model: FakeModel;
  repo: string;
  fleet: Fleet;
  close(): Promise<void>;
}

export async function fleetSetting(options: Partial<FleetOptions> & { nodes: number }): Promise<FleetSetting> {
  const pg = await startPostgres();
  let model: FakeModel | undefined;
  try {
    const databaseUrl = await pg.createDatabase('fleet');
    model = await startFakeModel();
    const repo = mkdtempSync(join(tmpdir(), 'delegate-fleet-repo-'));
    makeRepo(repo, { 'README.md': '# fleet\n', 'src/a.txt': 'a\n' });
    const fleet = await startFleet({
      databaseUrl,
      modelBaseUrl: model.baseUrl,
      args: ['--lease-ms', String(LEASE_MS), '--max-parallel', '2', '--no-spares', '--sandbox', 'bwrap'],
      ...options,
    });
    const m = model;
    return {
      pg,
      model: m,
      repo,
      fleet,
      async close() {
        await fleet.close();
        await m.close();
        await pg.stop();
      },
    };
  } catch (err) {
    await model?.close();
    await pg.stop();
    throw err;
  }
}

export async function createTaskOn(node: { url: string; token: string }, repo: string, prompt: string): Promise<Task> {
  const res = await api<Task>(node, 'POST', '/v1/tasks', { prompt, repo: { kind: 'local', path: repo } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
