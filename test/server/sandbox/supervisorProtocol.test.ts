// The host end of the supervisor channel reads frames that a sandboxed command may have forged:
// nonsense must end that supervisor with a sandbox error, never crash the server or buffer forever.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { SupervisorClient } from '../../../server/src/sandbox/supervisor';

/** A real process that announces itself ready, then writes `after` (a Perl expression) and idles. */
function impostor(after: string): { client: SupervisorClient; exited: Promise<number | null> } {
  const child = spawn('perl', ['-e', `$| = 1; print pack("N", 5), "R", pack("N", 0); sleep 1; print ${after}; sleep 30`], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const client = new SupervisorClient(child, { kill: () => child.kill('SIGKILL') });
  return { client, exited };
}

describe('supervisor channel', () => {
  it('a supervisor that never says it is ready fails, and the exec waiting for it says why', async () => {
    // A real process that stays silent, as a bwrap stuck before it runs the supervisor would.
    const child = spawn('sleep', ['30'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const client = new SupervisorClient(child, { kill: () => child.kill('SIGKILL'), startTimeoutMs: 500 });
    assert.equal(await client.ready, 'the sandbox did not start within 0.5 s');
    const result = await client.exec(['/bin/true'], '/', {}, { timeoutMs: 20_000 });
    assert.equal(result.sandboxError, 'the sandbox did not start within 0.5 s');
    await exited; // killed
    assert.equal(client.dead, true);
  });

  it('a frame longer than any the supervisor sends ends it as a sandbox error', async () => {
    const { client, exited } = impostor('pack("N", 0xFFFFFFF0), "O"');
    assert.equal(await client.ready, null);
    const started = Date.now();
    const result = await client.exec(['/bin/true'], '/', {}, { timeoutMs: 20_000 });
    assert.match(result.sandboxError ?? '', /malformed frame/);
    await exited;
    assert.ok(Date.now() - started < 10_000, 'the impostor was not killed');
    assert.equal(client.dead, true);
  });

  it('an unknown frame type ends it; execs started afterwards fail at once', async () => {
    const { client } = impostor('pack("N", 9), "Z", pack("N", 1), "abcd"');
    await client.ready;
    const result = await client.exec(['/bin/true'], '/', {}, {});
    assert.match(result.sandboxError ?? '', /unknown frame/);
    const later = await client.exec(['/bin/true'], '/', {}, {});
    assert.match(later.sandboxError ?? '', /unknown frame/);
  });

  it('frames for commands it never started are ignored', async () => {
    const { client } = impostor('pack("N", 13), "X", pack("N", 999), pack("l> l>", 0, 0), pack("N", 5), "Q", pack("N", 0)');
    await client.ready;
    const result = await client.exec(['/bin/true'], '/', {}, {});
    // The stray exit is dropped; the unknown type after it is what ends the channel.
    assert.match(result.sandboxError ?? '', /unknown frame/);
  });
});
