// Issue #16, the extension's part: a server started with --github-allow says so in /healthz, and
// the extension then connects with the user's VS Code GitHub session instead of a server token.
// Here, with no GitHub session yet, it sends nothing else (not the DELEGATE_TOKEN it has) and asks
// for the sign-in: status bar, queue, requests failing with that reason. VS Code refuses every
// dialog while extension tests run, so its consent dialog, and what follows the sign-in (only the
// user's own tasks in the queue; a refused account told who may use the server), are driven
// through the workbench by the UI smoke (smokeTeam.ts).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, until } from './helpers';

async function control<T>(path: string): Promise<T> {
  const res = await fetch(`${env('DELEGATE_TEST_CONTROL_URL')}${path}`, { method: 'POST' });
  if (!res.ok) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function serverCall<T>(url: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('a team server that signs users in with GitHub (#16)', () => {
  let api: DelegateApi;
  const settings = () => vscode.workspace.getConfiguration('delegate');
  let original: string | undefined;

  before(async () => {
    api = await delegateApi();
    original = settings().inspect<string>('serverUrl')?.globalValue;
  });

  after(async () => {
    await settings().update('serverUrl', original, vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected' && api.signIn().kind === 'token', 60_000,
      () => `back on the suite's server as its admin (${JSON.stringify(api.connection())}, ${JSON.stringify(api.signIn())})`);
  });

  it('without a GitHub session it asks for the sign-in and sends no other token', async () => {
    const team = await control<{ url: string; adminToken: string }>('/servers/team?allow=octo,hubot');
    await serverCall(team.url, team.adminToken, 'POST', '/v1/tasks', { prompt: 'The admin\'s task', repo: { kind: 'local', path: env('DELEGATE_TEST_WORKSPACE') } });
    assert.ok(process.env.DELEGATE_TOKEN, 'the extension host has a server token it could send');

    await settings().update('serverUrl', team.url, vscode.ConfigurationTarget.Global);
    await until(() => api.signIn().kind === 'needed', 30_000, () => `the sign-in to be asked for (${JSON.stringify(api.signIn())}, ${JSON.stringify(api.connection())})`);
    assert.deepEqual(api.signIn(), { kind: 'needed', serverUrl: team.url });
    assert.equal(api.connection().kind, 'offline');
    assert.match(api.statusBar().text, /sign in with GitHub/);
    assert.equal(api.snapshot().tasks.length, 0, 'nothing of the other server stays in the queue, and the admin\'s task is not shown');

    // A command that needs the server says what is missing instead of trying another credential.
    const created = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: 'Not without signing in' });
    assert.equal(created, undefined);
    const onServer = await serverCall<{ tasks: Task[] }>(team.url, team.adminToken, 'GET', '/v1/tasks');
    assert.deepEqual(onServer.tasks.map((t) => t.prompt), ['The admin\'s task']);

    // VS Code refuses dialogs during extension tests, so its consent dialog counts as declined.
    assert.equal(await vscode.commands.executeCommand<boolean>('delegate.signIn'), false);
    assert.equal(api.signIn().kind, 'needed');
  });
});
