// Contract: output reaches the callbacks while the command still runs. The command waits for a
// file the test creates only after it saw the first line, so a driver that buffers until exit
// deadlocks into its timeout and fails the test.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_UID } from '../../../server/src/sandbox/types';
import { describeEachDriver } from './drivers';

describeEachDriver('sandbox output streaming', (h) => {
  it('streams stdout and stderr chunks before the command ends', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    let stdout = '';
    let stderr = '';
    let released = false;
    const result = await sandbox.exec(
      'echo ready; echo "warming up" >&2; while [ ! -e go ]; do sleep 0.05; done; echo done',
      {
        timeoutMs: 20_000,
        onStdout: (chunk) => {
          stdout += chunk;
          if (!released && stdout.includes('ready')) {
            released = true;
            void fs.writeFile(join(ws, 'go'), '').then(() => fs.chown(join(ws, 'go'), SANDBOX_UID, SANDBOX_UID));
          }
        },
        onStderr: (chunk) => (stderr += chunk),
      },
    );
    assert.equal(result.timedOut, false, 'output was not streamed while the command ran');
    assert.equal(result.exitCode, 0);
    assert.equal(stdout, 'ready\ndone\n');
    assert.equal(stderr, 'warming up\n');
    assert.equal(result.stdout, stdout);
  });
});
