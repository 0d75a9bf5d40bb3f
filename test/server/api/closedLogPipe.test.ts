// A server whose log pipe is closed (the terminal or supervisor that read its stderr went away)
// must still stop cleanly on SIGTERM: exit 0 and release its sandbox mounts. An EPIPE on a log
// write used to become an uncaught 'error' event: exit 1 mid-shutdown, spare slots left mounted.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_BIN } from '../../support/serverProcess';

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`));
}

describe('server with a closed log pipe', function () {
  this.timeout(60_000);

  it('stops with exit 0 and leaves no mount when its stderr reader is gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'delegate-data-'));
    const child = spawn(process.execPath, [SERVER_BIN, '--port', '0', '--data-dir', dataDir, '--log-level', 'debug'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', DELEGATE_TOKEN: 'closed-pipe-token-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const m = /"msg":"listening"[^\n]*"url":"([^"]+)"/.exec(output);
          if (m) resolve(m[1]!);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
      });
      // Close the read ends: every later log line the server writes meets EPIPE.
      child.stdout.destroy();
      child.stderr.destroy();
      // Requests log at debug level: make the server write into the dead pipe a few times.
      for (let i = 0; i < 5; i++) await fetch(`${url}/healthz`).then((r) => r.arrayBuffer());
      assert.equal(child.exitCode, null, 'the server died on a log write');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.deepEqual(mountsUnder(dataDir), []);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    }
  });
});
