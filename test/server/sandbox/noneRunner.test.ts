// The `none` driver runs its commands through the server's ProcessRunner, whichever it is (the
// plain SpawnRunner or the launcher): its one exec path. Output, exit, streaming, a timeout, an
// abort, and nothing a command left in its group outliving the exec.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandboxDriver } from '../../../server/src/sandbox';
import type { Sandbox } from '../../../server/src/sandbox/types';
import { LauncherRunner } from '../../../server/src/util/launcher';
import { SpawnRunner, type ProcessRunner } from '../../../server/src/util/processRunner';

const LIMITS = { memoryBytes: 1 << 27, pids: 64, cpus: 1, diskBytes: 1 << 25 };

/** Running (a zombie waiting for init to reap it is not). */
async function alive(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

for (const [kind, make] of [
  ['spawn', () => new SpawnRunner()],
  ['launcher', () => new LauncherRunner('/usr/bin/perl')],
] as Array<[string, () => ProcessRunner]>) {
  describe(`sandbox driver none through the ${kind} runner`, function () {
    this.timeout(60_000);
    let dataDir: string;
    let sandbox: Sandbox;
    const started: string[][] = [];

    before(async () => {
      dataDir = await fs.mkdtemp(join(tmpdir(), 'delegate-none-'));
      const ws = join(dataDir, 'ws');
      await fs.mkdir(ws);
      // The real runner, watched: every command must reach it.
      const real = make();
      const runner: ProcessRunner = Object.assign(Object.create(real) as ProcessRunner, {
        run: (request: Parameters<ProcessRunner['run']>[0], handlers: Parameters<ProcessRunner['run']>[1]) => {
          started.push(request.argv);
          return real.run(request, handlers);
        },
      });
      const { driver } = await createSandboxDriver('none', { dataDir, runner });
      sandbox = await driver!.create({ id: `none-${kind}`, workspaceDir: ws, limits: LIMITS });
    });
    after(async () => {
      await sandbox?.dispose();
      await fs.rm(dataDir, { recursive: true, force: true });
    });

    it('runs the command in the workspace, streams its output and reports its exit', async () => {
      const chunks: string[] = [];
      const r = await sandbox.exec('pwd; echo out; echo err >&2; exit 3', { onStdout: (c) => chunks.push(c), stdin: 'ignored' });
      assert.equal(r.exitCode, 3);
      assert.equal(r.stdout, `${sandbox.workspaceDir}\nout\n`);
      assert.equal(r.stderr, 'err\n');
      assert.equal(chunks.join(''), r.stdout);
      assert.deepEqual(started.at(-1), ['/bin/sh', '-c', 'pwd; echo out; echo err >&2; exit 3'], 'through the runner');
    });

    it('ends what the command left running in its group when it exits', async () => {
      const r = await sandbox.exec('sleep 30 > /dev/null 2>&1 & echo $!');
      assert.equal(r.exitCode, 0);
      const pid = Number(r.stdout.trim());
      const deadline = Date.now() + 5_000;
      while ((await alive(pid)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await alive(pid), false, 'the background job is gone');
    });

    it('kills the command at its timeout and on abort', async () => {
      const timed = await sandbox.exec('sleep 30', { timeoutMs: 300 });
      assert.equal(timed.timedOut, true);
      assert.equal(timed.exitCode, null);
      assert.ok(timed.durationMs < 10_000, `${timed.durationMs} ms`);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const aborted = await sandbox.exec('sleep 30', { signal: controller.signal });
      assert.equal(aborted.aborted, true);
      assert.ok(aborted.durationMs < 10_000, `${aborted.durationMs} ms`);
    });
  });
}
