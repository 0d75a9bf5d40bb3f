// The server starts its git and mount processes through a Perl supervisor on the host, or with
// node's spawn() where there is none. Both must give the same answers, and losing the supervisor
// must not lose the next command.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from '../../../server/src/workspace/git';
import { processRunnerFor } from '../../../server/src/util/launcher';
import type { ProcessRunner, SpawnRequest } from '../../../server/src/util/processRunner';

const SANDBOX_UID = 1500;

function launcherPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /\bperl\b/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

async function sample(runner: ProcessRunner, dir: string) {
  const host = { runner, env: {} };
  const version = await runGit(['--version'], { host });
  const hashed = await runGit(['hash-object', '--stdin'], { host, input: Buffer.from([0, 1, 2, 255]) });
  const failed = await runGit(['rev-parse', '--verify', 'no-such-ref'], { host, cwd: dir });
  const init = await runGit(['init', '-q', join(dir, `as-sandbox-${runner.name}`)], { host, asUid: SANDBOX_UID });
  return {
    version: version.stdout.toString().trim(),
    hash: hashed.stdout.toString().trim(),
    failed: [failed.code, /not a git repository/.test(failed.stderr)],
    init: init.code,
  };
}

describe('host process launcher', () => {
  let dir: string;
  let launcher: ProcessRunner;
  let host: { runner: ProcessRunner; env: Record<string, string> };
  beforeEach(() => {
    launcher = processRunnerFor('launcher');
    host = { runner: launcher, env: {} };
    dir = mkdtempSync(join(tmpdir(), 'delegate-launcher-'));
    execFileSync('chown', [`${SANDBOX_UID}:${SANDBOX_UID}`, dir]);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers as node spawn() does: output, stdin bytes, exit codes, another uid', async () => {
    assert.equal(launcher.name, 'launcher');
    const viaPerl = await sample(launcher, dir);
    assert.ok(launcherPids().length > 0, 'git did not go through the supervisor');
    const viaNode = await sample(processRunnerFor('spawn'), dir);
    assert.deepEqual(viaPerl, viaNode);
    assert.match(viaPerl.version, /^git version /);
    assert.equal(viaPerl.hash, execFileSync('git', ['hash-object', '--stdin'], { input: Buffer.from([0, 1, 2, 255]), encoding: 'utf8' }).trim());
    assert.deepEqual(viaPerl.failed, [128, true]);
    assert.equal(viaPerl.init, 0);
    for (const which of ['launcher', 'spawn']) assert.equal(statSync(join(dir, `as-sandbox-${which}`, '.git', 'HEAD')).uid, SANDBOX_UID);
  });

  it('starts a new supervisor when the old one was killed', async () => {
    await runGit(['--version'], { host });
    const [pid] = launcherPids();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const again = await runGit(['--version'], { host });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!launcherPids().includes(pid));
  });

  it('mounts and unmounts without a mount process', async () => {
    const target = join(dir, 'mnt');
    mkdirSync(target);
    const mounted = await launcher.mount('tmpfs', target, 'tmpfs', 2 | 4, 'size=1m,mode=0700');
    assert.deepEqual(mounted, { ok: true });
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target);
    assert.match(line ?? '', / - tmpfs tmpfs .*size=1024k/);
    assert.match(line ?? '', /nosuid,nodev/);
    assert.deepEqual(await launcher.mount('tmpfs', join(dir, 'missing'), 'tmpfs', 0, ''), { ok: false, reason: 'ENOENT' });
    assert.deepEqual(await launcher.umount(target, 0), { ok: true });
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `));
  });

  /** Runs `argv` through the launcher's start() and gathers what it prints; `feed` gets its stdin. */
  async function child(request: Omit<SpawnRequest, 'stdin'>, feed?: (write: (s: string) => void) => void) {
    const launched = launcher.start(request);
    assert.ok(launched, 'the launcher runs here');
    const failures: string[] = [];
    launched.child.on('error', (e) => failures.push(e.message));
    let out = '';
    let err = '';
    let exit: [number | null, string | null] = [null, null];
    launched.child.stdout?.on('data', (c) => (out += c.toString()));
    launched.child.stderr?.on('data', (c) => (err += c.toString()));
    launched.child.on('exit', (code, signal) => (exit = [code, signal]));
    feed?.((s) => launched.child.stdin?.write(Buffer.from(s)));
    await launched.closed;
    return { out, err, exit, failures };
  }

  it('starts a long-lived process with data on fds 3.. and stdin streamed to it, nothing else inherited', async () => {
    const r = await child(
      { argv: ['/bin/sh', '-c', 'cat <&3; echo; cat <&4; echo "|"; cat <&5; echo; ls /proc/self/fd | sort -n | tr "\\n" " "; read a; read b; echo "$a $b"'], cwd: '/', env: {}, fds: [Buffer.from('three'), Buffer.alloc(0), Buffer.from('five')] },
      (write) => setTimeout(() => write('first\n'), 50) && setTimeout(() => write('second\n'), 100),
    );
    assert.equal(r.err, '');
    assert.deepEqual(r.failures, []);
    // 0-2, the three extra fds, and ls's own directory fd: nothing of the launcher's.
    assert.equal(r.out, 'three\n|\nfive\n0 1 2 3 4 5 6 first second\n');
    assert.deepEqual(r.exit, [0, null]);
  });

  it('joins the given cgroups, drops to a uid and sets no_new_privs before it runs', async () => {
    const cg = '/sys/fs/cgroup/pids/delegate-launcher-test';
    mkdirSync(cg, { recursive: true });
    try {
      const r = await child({ argv: ['/bin/sh', '-c', 'grep -E "^(Uid|Groups|NoNewPrivs):" /proc/self/status; grep pids /proc/self/cgroup'], cwd: '/', env: {}, cgroups: [join(cg, 'cgroup.procs')], uid: SANDBOX_UID, noNewPrivs: true });
      assert.equal(r.err, '');
      assert.match(r.out, new RegExp(`^Uid:\\s+${SANDBOX_UID}\\s+${SANDBOX_UID}\\s+${SANDBOX_UID}\\s+${SANDBOX_UID}$`, 'm'));
      assert.match(r.out, new RegExp(`^Groups:\\s+${SANDBOX_UID}\\s*$`, 'm'), 'no supplementary group of root');
      assert.match(r.out, /^NoNewPrivs:\s+1$/m);
      assert.match(r.out, /pids:\/delegate-launcher-test$/m);
    } finally {
      execFileSync('rmdir', [cg]);
    }
  });

  it('refuses what it cannot do, as a failure of that process only', async () => {
    const big = await child({ argv: ['/bin/true'], cwd: '/', env: {}, fds: [Buffer.alloc(65537)] });
    assert.deepEqual(big.exit, [null, null]);
    assert.match(big.failures.join(), /limited to 65536 bytes/);
    const noCgroup = await child({ argv: ['/bin/true'], cwd: '/', env: {}, cgroups: [join(dir, 'no-such-cgroup', 'cgroup.procs')] });
    assert.deepEqual(noCgroup.exit, [null, null]);
    assert.match(noCgroup.failures.join(), /cannot join .*no-such-cgroup/);
    const after = await runGit(['--version'], { host });
    assert.equal(after.code, 0, 'the launcher still works');
  });
});
