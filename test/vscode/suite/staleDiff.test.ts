// Issue #19 (leftover of item 7): decisions carry the diff's version, and a pull request asked for
// on a diff that moved since is refused by the server (409 stale_diff). The extension then says so
// and loads the diff again, and no pull request is made. To hold an old diff the way a slow network
// does, the extension talks to the server through a loopback proxy that can hold back the event
// stream: a follow-up (sent straight to the server, as another client would) moves the diff while
// the extension hears nothing of it.
import * as assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, githubPulls, setScript, until } from './helpers';

const SCRIPT = 'stale-diff';
const FIRST = '/** Greets someone. */';
const SECOND = '/** Greets someone by name. */';

interface HoldingProxy {
  url: string;
  /** Holds back what the server sends on the event stream until release(). */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

/** A TCP proxy to `target`; only connections that open the event stream are ever held. */
async function startProxy(target: URL): Promise<HoldingProxy> {
  let holding = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    let stream: boolean | undefined;
    client.on('data', (chunk: Buffer) => {
      stream ??= chunk.toString('latin1').startsWith('GET /v1/events');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (stream && holding) held.push(() => client.write(chunk));
      else client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const write of held.splice(0)) write();
    },
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

async function server<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T; text: string }> {
  const res = await fetch(`${env('DELEGATE_TEST_SERVER_URL').replace(/\/$/, '')}${path}`, {
    method,
    headers: { authorization: `Bearer ${env('DELEGATE_TOKEN')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: (path.endsWith('/diff') ? undefined : JSON.parse(text)) as T };
}

describe('a pull request on a diff that moved (#19)', () => {
  let api: DelegateApi;
  let proxy: HoldingProxy;
  const settings = () => vscode.workspace.getConfiguration('delegate');
  let original: string | undefined;

  before(async () => {
    api = await delegateApi();
    proxy = await startProxy(new URL(env('DELEGATE_TEST_SERVER_URL')));
    original = settings().inspect<string>('serverUrl')?.globalValue;
    const patch = (from: string, to: string) => ['*** Begin Patch', '*** Update File: src/greet.js', '@@', ...from.split('\n').map((l) => `-${l}`), ...to.split('\n').map((l) => `+${l}`), '*** End Patch'].join('\n');
    await setScript(SCRIPT, [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('function greet(name) {', `${FIRST}\nfunction greet(name) {`) } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Documented greet.' } }] },
      // The follow-up: the comment changes, so the diff's hunk changes.
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch(FIRST, SECOND) } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Said what greet takes.' } }] },
    ]);
  });

  after(async () => {
    proxy.release();
    await settings().update('serverUrl', original, vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected', 60_000, () => `connected again (${JSON.stringify(api.connection())})`);
    await proxy.close();
  });

  it('is refused (409), and the extension loads the new diff and makes no pull request', async () => {
    await settings().update('serverUrl', proxy.url, vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected' && !api.snapshot().replaying, 30_000, () => `connected through the proxy (${JSON.stringify(api.connection())})`);
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `Document greet [[script:${SCRIPT}]]` });
    assert.ok(task);
    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    const reviewed = JSON.stringify(await api.diff(task.id));
    assert.ok(reviewed.includes(FIRST), 'the reviewed diff has the first comment');

    // The extension hears nothing more; another client follows up and the diff moves.
    proxy.hold();
    const sent = await server('POST', `/v1/tasks/${task.id}/messages`, { text: 'Say that it takes a name.' });
    assert.ok(sent.status >= 200 && sent.status < 300, `${sent.status} ${sent.text}`);
    await until(async () => {
      const now = await server<Task>('GET', `/v1/tasks/${task.id}`);
      return now.json.status === 'completed' && (await server('GET', `/v1/tasks/${task.id}/diff`)).text.includes(SECOND);
    }, 90_000, () => 'the follow-up to move the diff on the server');
    assert.equal(current()?.status, 'completed', 'the extension still holds the old state');
    assert.ok(JSON.stringify(await api.diff(task.id)).includes(FIRST), 'and the old diff');

    const pullsBefore = (await githubPulls()).length;
    const made = await vscode.commands.executeCommand('delegate.createPullRequest', task.id, { token: env('DELEGATE_TEST_GITHUB_TOKEN'), confirm: false });
    assert.equal(made, undefined, 'no pull request on a stale review');
    assert.equal((await githubPulls()).length, pullsBefore);
    // Loaded again on the 409, while the event stream is still held back.
    const reloaded = JSON.stringify(await api.diff(task.id));
    assert.ok(reloaded.includes(SECOND) && !reloaded.includes(FIRST), `the diff was loaded again: ${reloaded.slice(0, 300)}`);
  });
});
