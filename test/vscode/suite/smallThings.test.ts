// Issue #19, item 10: the elapsed time on a queue row counts only the time the task ran (not the
// idle time before a follow-up), and the local server's log lines reach the Output channel at
// their own level instead of all as [warning].
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, setScript, until } from './helpers';

const IDLE_MS = 8_000;

describe('smaller things (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
  });

  after(async () => {
    const c = vscode.workspace.getConfiguration('delegate');
    await c.update('serverCommand', undefined, vscode.ConfigurationTarget.Global);
    await c.update('serverUrl', env('DELEGATE_TEST_SERVER_URL'), vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected', 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('a queue row\'s elapsed time leaves out the idle time before a follow-up', async () => {
    await setScript('elapsed', [
      { toolCalls: [{ name: 'finish', arguments: { summary: 'First run.' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Second run.' } }] },
    ]);
    const started = Date.now();
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: 'Twice [[script:elapsed]]' });
    assert.ok(task);
    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => current()?.status === 'completed', 90_000, () => `the first run (${current()?.status})`);
    const idleFrom = Date.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idle = Date.now() - idleFrom;
    await vscode.commands.executeCommand('delegate.followUp', task.id, 'Once more.');
    await until(() => current()?.summary === 'Second run.' && FINISHED.includes(current()?.status ?? ''), 90_000, () => `the follow-up (${current()?.status})`);
    const wall = Date.now() - started;
    const shown = /^(\d+)s\b/.exec(api.treeItem(task.id).description);
    assert.ok(shown, `the row shows seconds: ${api.treeItem(task.id).description}`);
    // At most the time outside the idle gap (plus rounding): the runs, not the wait between them.
    assert.ok(Number(shown[1]) * 1000 <= wall - idle + 1000, `shown ${shown[1]} s, but the task ran at most ${(wall - idle) / 1000} s of ${wall / 1000} s`);
  });

  it('the local server\'s log lines keep their level in the Output channel', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'delegate-local-'));
    const bin = join(vscode.extensions.getExtension('delegate-dev.delegate')!.extensionPath, 'server', 'bin', 'delegate-server.js');
    const c = vscode.workspace.getConfiguration('delegate');
    await c.update('serverCommand', `"${env('DELEGATE_TEST_NODE')}" "${bin}" --data-dir "${dataDir}" --token ${env('DELEGATE_TOKEN')}`, vscode.ConfigurationTarget.Global);
    await c.update('serverUrl', `http://127.0.0.1:${port}`, vscode.ConfigurationTarget.Global);
    assert.equal(await vscode.commands.executeCommand('delegate.startLocalServer'), true);
    try {
      await until(() => api.connection().kind === 'connected', 60_000, () => `connected to the local server (${JSON.stringify(api.connection())})`);
      const logFile = () => readdirSync(api.logUri.fsPath).filter((f) => f.endsWith('.log')).map((f) => join(api.logUri.fsPath, f)).find((f) => readFileSync(f, 'utf8').includes('[server]'));
      await until(() => Boolean(logFile()) && /\[server\] listening/.test(readFileSync(logFile()!, 'utf8')), 20_000, () => `the server's lines in ${api.logUri.fsPath}`);
      const lines = readFileSync(logFile()!, 'utf8').split('\n').filter((l) => l.includes('[server]'));
      const listening = lines.find((l) => l.includes('[server] listening'));
      assert.match(listening ?? '', /\[info\]/, `the listening line: ${listening}`);
      assert.ok(!lines.some((l) => l.includes('[server] {')), `raw JSON lines: ${lines.join('\n')}`);
    } finally {
      assert.equal(await vscode.commands.executeCommand('delegate.stopLocalServer'), true);
    }
  });
});
