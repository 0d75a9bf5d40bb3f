// A real server with one finished task whose workspace has a changed file: the fixture for tests
// that need a task the routes can act on (diff, file, events, messages, pull request).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess, type StartServerOptions } from '../../support/serverProcess';
import { createTask, isDone, waitForTask } from '../../support/tasks';

const PATCH = `*** Begin Patch
*** Update File: calc.js
@@
-module.exports = (a, b) => a - b;
+module.exports = (a, b) => a + b;
*** End Patch`;

export interface Fixture {
  model: FakeModel;
  server: ServerProcess;
  repo: string;
  task: Task;
  stop(): Promise<void>;
}

export async function finishedTask(options: StartServerOptions = {}): Promise<Fixture> {
  const model = await startFakeModel();
  model.setScript('edit', [
    { toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] },
    { toolCalls: [{ name: 'finish', arguments: { summary: 'Fixed it.' } }] },
  ]);
  const server = await startServer({ modelBaseUrl: model.baseUrl, ...options, args: ['--sandbox', 'bwrap', ...(options.args ?? [])] });
  const repo = mkdtempSync(join(tmpdir(), 'delegate-fixture-repo-'));
  makeRepo(repo, { 'calc.js': 'module.exports = (a, b) => a - b;\n', 'README.md': 'calc\n' });
  const created = await createTask(server, repo, 'Fix calc [[script:edit]]');
  const task = await waitForTask(server, created.id, isDone, 60_000);
  if (task.status !== 'completed') throw new Error(`the fixture task ended ${task.status}: ${JSON.stringify(task.error)}`);
  return {
    model,
    server,
    repo,
    task,
    async stop() {
      await server.stop();
      await model.close();
    },
  };
}
