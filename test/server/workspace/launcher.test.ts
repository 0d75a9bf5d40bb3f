// The server starts its git and mount processes through a Perl supervisor on the host, or with
// node's spawn() where there is none. Both must give the same answers, and losing the supervisor
// must not lose the next command.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGit } from '../../../server/src/workspace/git';
import { mountSyscall, umountSyscall } from '../../../server/src/util/launcher';

const SANDBOX_UID = 1500;

function launcherPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => /\bperl\b/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

async function sample(dir: string) {
  const version = await runGit(['--version']);
  const hashed = await runGit(['hash-object', '--stdin'], { input: Buffer.from([0, 1, 2, 255]) });
  const failed = await runGit(['rev-parse', '--verify', 'no-such-ref'], { cwd: dir });
  const init = await runGit(['init', '-q', join(dir, `as-sandbox-${process.env.DELEGATE_NODE_SPAWN ?? 'perl'}`)], { asUid: SANDBOX_UID });
  return {
    version: version.stdout.toString().trim(),
    hash: hashed.stdout.toString().trim(),
    failed: [failed.code, /not a git repository/.test(failed.stderr)],
    init: init.code,
  };
}

describe('host process launcher', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'delegate-launcher-'));
    execFileSync('chown', [`${SANDBOX_UID}:${SANDBOX_UID}`, dir]);
  });
  afterEach(() => {
    delete process.env.DELEGATE_NODE_SPAWN;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers as node spawn() does: output, stdin bytes, exit codes, another uid', async () => {
    const viaPerl = await sample(dir);
    assert.ok(launcherPids().length > 0, 'git did not go through the supervisor');
    process.env.DELEGATE_NODE_SPAWN = '1';
    const viaNode = await sample(dir);
    assert.deepEqual(viaPerl, viaNode);
    assert.match(viaPerl.version, /^git version /);
    assert.equal(viaPerl.hash, execFileSync('git', ['hash-object', '--stdin'], { input: Buffer.from([0, 1, 2, 255]), encoding: 'utf8' }).trim());
    assert.deepEqual(viaPerl.failed, [128, true]);
    assert.equal(viaPerl.init, 0);
    for (const which of ['perl', '1']) assert.equal(statSync(join(dir, `as-sandbox-${which}`, '.git', 'HEAD')).uid, SANDBOX_UID);
  });

  it('starts a new supervisor when the old one was killed', async () => {
    await runGit(['--version']);
    const [pid] = launcherPids();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    const again = await runGit(['--version']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!launcherPids().includes(pid));
  });

  it('mounts and unmounts without a mount process', async () => {
    const target = join(dir, 'mnt');
    mkdirSync(target);
    const mounted = await mountSyscall('tmpfs', target, 'tmpfs', 2 | 4, 'size=1m,mode=0700');
    assert.deepEqual(mounted, { ok: true });
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === target);
    assert.match(line ?? '', / - tmpfs tmpfs .*size=1024k/);
    assert.match(line ?? '', /nosuid,nodev/);
    assert.deepEqual(await mountSyscall('tmpfs', join(dir, 'missing'), 'tmpfs', 0, ''), { ok: false, reason: 'ENOENT' });
    assert.deepEqual(await umountSyscall(target, 0), { ok: true });
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `));
  });
});
