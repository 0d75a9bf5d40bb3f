// A command stopped by one of the sandbox's limits says which limit and how much, to the model (the
// shell tool's result) and to the user (a warning event), instead of a bare "exit 137". Memory
// hogs and fork bombs run only inside sandboxes with low memory and pids caps.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellTool } from '../../../server/src/agent/tools/shell';
import type { AgentEvent } from '../../../server/src/agent/types';
import type { ConfinedFiles } from '../../../server/src/workspace/types';
import { SANDBOX_UID, type Sandbox } from '../../../server/src/sandbox/types';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';
import { describeEachDriver, probe, SPARES_SWITCH, TEST_LIMITS } from './drivers';

/** The shell tool as the agent runs it, on a real sandbox; what it tells the model and the user. */
async function shell(sandbox: Sandbox, command: string, commandTimeoutMs = 60_000): Promise<{ output: string; events: AgentEvent[] }> {
  const events: AgentEvent[] = [];
  const outcome = await shellTool.run(
    { command },
    {
      callId: 'c1',
      sandbox,
      // The shell tool reads no files itself.
      files: {} as ConfinedFiles,
      signal: new AbortController().signal,
      commandTimeoutMs,
      emit: (event) => events.push(event),
      ask: () => Promise.reject(new Error('no questions here')),
    },
  );
  return { output: outcome.output, events };
}

const warnings = (events: AgentEvent[]): string[] => events.flatMap((e) => (e.type === 'warning' && e.error.code === 'limit_reached' ? [e.error.message] : []));

describeEachDriver('a command stopped by a limit says which', (h) => {
  it('memory: the OOM kill is reported as the memory limit and its value', async () => {
    const sandbox = await h.sandbox();
    // 300 MB in the shell against a 128 MiB cap.
    const hog = 'x=$(head -c 300000000 /dev/zero | tr "\\0" a); echo "survived ${#x}"';
    const result = await probe(sandbox, hog, { timeoutMs: 120_000 });
    assert.equal(result.exitCode, 137, result.stderr);
    assert.deepEqual(result.limit, { kind: 'memory', value: TEST_LIMITS.memoryBytes });
    const told = await shell(sandbox, hog);
    assert.match(told.output, /^killed: memory limit 128 MiB reached/);
    assert.equal(warnings(told.events).length, 1, JSON.stringify(told.events));
    assert.match(warnings(told.events)[0]!, /memory limit 128 MiB/);
    const after = await sandbox.exec('echo alive');
    assert.equal(after.limit, undefined, 'a command after it hit nothing');
  });

  it('time: a command killed at its timeout is reported as the time limit', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('sleep 30', { timeoutMs: 1000 });
    assert.deepEqual(result.limit, { kind: 'time', value: 1000 });
    const told = await shell(sandbox, 'sleep 30', 1500);
    assert.match(told.output, /^killed: time limit 1\.5 s reached/);
    assert.match(warnings(told.events)[0] ?? '', /time limit 1\.5 s/);
  });

  it('pids: a command that failed at the process cap is told so', async () => {
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, 'for i in $(seq 100); do sleep 5 & done; wait', { timeoutMs: 60_000 });
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(result.limit, { kind: 'pids', value: TEST_LIMITS.pids });
  });

  it('disk: a command that filled the workspace is told the disk limit', async () => {
    if (process.getuid?.() !== 0) return; // the test mounts a small tmpfs as the workspace
    const ws = await h.workspace();
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=4m,mode=755,uid=${SANDBOX_UID},gid=${SANDBOX_UID}`, 'tmpfs', ws]);
    try {
      const sandbox = await h.sandbox({ workspaceDir: ws });
      const result = await sandbox.exec('head -c 8000000 /dev/zero > big');
      assert.notEqual(result.exitCode, 0);
      assert.deepEqual(result.limit, { kind: 'disk', value: 4 * 1024 ** 2 });
      const told = await shell(sandbox, 'echo more >> big');
      assert.match(told.output, /the sandbox's disk limit 4 MiB was reached/);
      await sandbox.dispose();
    } finally {
      execFileSync('umount', ['-l', ws]);
      await fs.rm(ws, { recursive: true, force: true });
    }
  });

  it('an ordinary failure names no limit', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('exit 3');
    assert.equal(result.exitCode, 3);
    assert.equal(result.limit, undefined);
    assert.match((await shell(sandbox, 'exit 3')).output, /^Exit code: 3 /);
  });
});

describe('a limit reached, through the server', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-limit-'));
    chmodSync(root, 0o755);
    makeRepo(join(root, 'repo'), { 'README.md': '# limits\n' });
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', ...SPARES_SWITCH] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('tells the model and the user which limit stopped a command', async () => {
    model.setScript('slow', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 20' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Too slow.' } }] },
    ]);
    const task = await createTask(server, join(root, 'repo'), 'Wait [[script:slow]]', { limits: { commandTimeoutMs: 1000 } });
    const done = await waitForTask(server, task.id, isDone, 60_000).catch((err: Error) => assert.fail(`${err.message}\n${server.logs()}`));
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const events = await allEvents(server, task.id);
    const result = events.find((e) => e.type === 'tool.result' && e.name === 'shell');
    assert.ok(result && result.type === 'tool.result');
    assert.match(result.output, /^killed: time limit 1 s reached/);
    const warning = events.find((e) => e.type === 'warning' && e.error.code === 'limit_reached');
    assert.ok(warning && warning.type === 'warning', 'the user is told too');
    assert.match(warning.error.message, /time limit 1 s.*sleep 20/);
  });
});
