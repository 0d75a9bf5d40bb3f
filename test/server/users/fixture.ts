// Users (#16): GitHub tokens of a few people the GitHub double knows, a server that admits some of
// them, and helpers that call the API as one of them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ServerFrame, Task } from '../../../protocol';
import type { FakeUser } from '../../support/githubDouble';
import { makeRepo } from '../../support/gitRepo';
import { api } from '../../support/serverProcess';

export const USERS: Record<string, FakeUser & { token: string }> = {
  alice: { login: 'alice', id: 101, token: 'gho_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
  bob: { login: 'Bob-Builder', id: 102, orgs: ['acme'], token: 'gho_bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
  eve: { login: 'eve', id: 103, orgs: ['elsewhere'], token: 'gho_eveEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE' },
};

export const fakeUsers = (): Record<string, FakeUser> => Object.fromEntries(Object.values(USERS).map((u) => [u.token, { login: u.login, id: u.id, orgs: u.orgs }]));

export type As = { url: string; token: string };
export const as = (url: string, token: string): As => ({ url, token });

export type Bundle = { bundleId: string; commit: string };

/** A git bundle of a small repository, uploaded by `who`. */
export async function uploadBundle(who: As, files: Record<string, string> = { 'a.txt': 'a\n' }): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), 'delegate-users-repo-'));
  makeRepo(dir, files);
  const file = join(dir, '..', `${dir.split('/').pop()}.bundle`);
  execFileSync('git', ['-C', dir, 'bundle', 'create', '-q', file, '--all']);
  const res = await api<{ bundleId: string }>(who, 'POST', '/v1/bundles', new Uint8Array(readFileSync(file)), { 'content-type': 'application/octet-stream' });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { bundleId: res.body.bundleId, commit: execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD']).toString().trim() };
}

export async function createBundleTask(who: As, bundle: Bundle, prompt: string): Promise<Task> {
  const res = await api<Task>(who, 'POST', '/v1/tasks', { prompt, repo: { kind: 'bundle', bundleId: bundle.bundleId, commit: bundle.commit, branch: 'main' } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Opens the event stream as `who`; resolves once the replay is done. */
export function stream(who: As, since = 0, query = ''): Promise<{ ws: WebSocket; frames: ServerFrame[] }> {
  const ws = new WebSocket(`${who.url.replace(/^http/, 'ws')}/v1/events?since=${since}${query}`, { headers: { authorization: `Bearer ${who.token}` } });
  const frames: ServerFrame[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const f = JSON.parse((data as Buffer).toString()) as ServerFrame;
      frames.push(f);
      if (f.type === 'replayed') resolve({ ws, frames });
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
  });
}
