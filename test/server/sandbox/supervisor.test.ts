// bwrap and docker run every command through a supervisor inside the sandbox. Whatever a command
// does to it or leaves behind, the next exec must work and nothing may outlive the exec that
// started it.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BwrapDriver } from '../../../server/src/sandbox/bwrap';
import { detectCgroups } from '../../../server/src/sandbox/cgroups';
import Docker from 'dockerode';
import { describeDriver, describeEachDriver, probe, stoppedGrowing, testDockerd, TEST_LIMITS, type DriverHarness } from './drivers';

/** The supervisor's pid on the host: the perl process in the sandbox's cgroup, or the container's pid 1. */
async function supervisorPid(h: DriverHarness): Promise<number> {
  if (h.name === 'docker') {
    const docker = new Docker({ socketPath: (await testDockerd()).socket });
    const [container] = await docker.listContainers({ filters: { label: ['dev.delegate.sandbox=test-docker'] } });
    assert.ok(container, 'the sandbox container is running');
    return (await docker.getContainer(container.Id).inspect()).State.Pid;
  }
  const cgroups = await detectCgroups();
  assert.ok(cgroups.ok);
  const base = cgroups.layout.version === 2 ? cgroups.layout.base : cgroups.layout.pids;
  const dir = (await readdir(base)).find((n) => n.startsWith(`${process.pid}-`));
  assert.ok(dir, 'the sandbox has a cgroup of its own');
  const pids = (await readFile(join(base, dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
  const names = await Promise.all(pids.map(async (p) => [p, (await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')).trim()] as const));
  const perl = names.filter(([, n]) => n === 'perl').map(([p]) => Number(p));
  assert.ok(perl.length > 0, JSON.stringify(names));
  return Math.min(...perl);
}

describeEachDriver('sandbox supervisor', (h) => {
  it('a command can neither kill nor stop the supervisor: it is the sandbox\'s pid 1', async () => {
    const sandbox = await h.sandbox();
    const tried = await probe(sandbox, 'echo $PPID; kill -9 $PPID; kill -STOP $PPID; kill -9 1; echo survived');
    assert.equal(tried.sandboxError, undefined, tried.stderr);
    assert.equal(tried.stdout, '1\nsurvived\n');
    const next = await sandbox.exec('echo again', { timeoutMs: 10_000 });
    assert.equal(next.sandboxError, undefined);
    assert.equal(next.stdout, 'again\n');
  });

  it('a supervisor that dies (the OOM killer, say) fails what it ran as a sandbox error; the next exec starts a new one', async () => {
    const sandbox = await h.sandbox();
    const running = probe(sandbox, 'sleep 30; echo unreachable');
    await new Promise((r) => setTimeout(r, 200));
    // From the host, as the kernel would: SIGKILL to the supervisor.
    process.kill(await supervisorPid(h), 'SIGKILL');
    const killed = await running;
    assert.match(killed.sandboxError ?? '', /sandbox stopped/, `exit ${killed.exitCode}: ${killed.stdout}${killed.stderr}`);
    assert.doesNotMatch(killed.stdout, /unreachable/);
    const next = await sandbox.exec('echo again');
    assert.equal(next.sandboxError, undefined);
    assert.equal(next.stdout, 'again\n');
  });

  it('kills a daemon that left the command session when the exec returns', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const result = await probe(sandbox, 'setsid sh -c "while :; do echo t >> /workspace/daemon; sleep 0.1; done" > /dev/null 2>&1 < /dev/null & sleep 0.3; echo started');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, 'started\n');
    assert.ok(await stoppedGrowing(join(ws, 'daemon')), 'the daemon kept running after exec returned');
  });

  it('runs commands side by side; one ending does not end the other', async () => {
    const sandbox = await h.sandbox();
    const [slow, fast] = await Promise.all([sandbox.exec('sleep 0.5; echo slow'), sandbox.exec('echo fast')]);
    assert.deepEqual([fast.exitCode, fast.stdout], [0, 'fast\n']);
    assert.deepEqual([slow.exitCode, slow.stdout], [0, 'slow\n']);
  });

  it('a command can neither look into the supervisor nor write into its channel', async () => {
    const sandbox = await h.sandbox();
    // Not dumpable: its /proc entries are closed to the commands it starts (same uid).
    const look = await probe(sandbox, 'ls /proc/$PPID/fd > /dev/null 2>&1 && echo listed || echo refused');
    assert.equal(look.stdout, 'refused\n', look.stderr);
    const write = await probe(sandbox, 'printf "\\377\\377\\377\\377garbage" > /proc/$PPID/fd/1 && echo wrote || echo refused');
    assert.equal(write.sandboxError, undefined);
    assert.equal(write.stdout, 'refused\n', write.stderr);
    assert.equal((await sandbox.exec('echo fine')).stdout, 'fine\n');
  });

  it('gives each command only the environment it was given', async () => {
    const sandbox = await h.sandbox();
    await sandbox.exec('true', { env: { FIRST_ONLY: 'x' } });
    const result = await sandbox.exec('env | sort', { env: { SECOND: 'y' } });
    assert.doesNotMatch(result.stdout, /FIRST_ONLY/);
    assert.match(result.stdout, /^SECOND=y$/m);
  });
});

describeDriver('bwrap', 'sandbox supervisor', (h) => {
  it('fails an exec as a sandbox error when the supervisor cannot start: there is no other way to run it', async () => {
    const cgroups = await detectCgroups();
    // An interpreter that exits at once: no ready frame.
    const driver = new BwrapDriver({ cgroups, perl: '/usr/bin/false' });
    const sandbox = await driver.create({ id: 'no-supervisor', workspaceDir: await h.workspace(), limits: TEST_LIMITS });
    try {
      const first = await sandbox.exec('echo one');
      assert.equal(first.stdout, '');
      assert.match(first.sandboxError ?? '', /stopped/);
      const second = await sandbox.exec('echo two');
      assert.match(second.sandboxError ?? '', /stopped/, 'the next exec tries a new supervisor, which fails the same way');
    } finally {
      await sandbox.dispose();
    }
  });
});
