// Escape suite: no privileges. No capabilities, no secrets in any process environment, and
// mount / unshare / su / ptrace-style tools fail.
import assert from 'node:assert/strict';
import { describeEachDriver, probe } from './drivers';

const FAKE_SECRET = 'sk-delegate-fake-secret-0123456789';

describeEachDriver('escape: privileges', (h) => {
  let previous: string | undefined;
  before(() => {
    previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = FAKE_SECRET;
  });
  after(() => {
    if (previous === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = previous;
  });

  it('exposes no secret of the server environment, not even in /proc/1/environ', async () => {
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, 'for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$f"; done; env');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.doesNotMatch(result.stdout, new RegExp(FAKE_SECRET));
    assert.doesNotMatch(result.stdout, /OPENAI_API_KEY/);
  });

  it('runs with no effective capabilities as the sandbox uid, under seccomp', async () => {
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, 'grep -E "^(CapEff|CapPrm|CapAmb|Seccomp|NoNewPrivs):" /proc/self/status; id -u');
    assert.match(result.stdout, /CapEff:\s+0000000000000000/);
    assert.match(result.stdout, /CapPrm:\s+0000000000000000/);
    assert.match(result.stdout, /Seccomp:\s+2/);
    assert.match(result.stdout, /NoNewPrivs:\s+1/);
    assert.doesNotMatch(result.stdout, /^0$/m, 'runs as root');
  });

  it('has keyrings denied by the seccomp filter in the kernel', async () => {
    const sandbox = await h.sandbox();
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING) needs no privilege, so only a
    // seccomp filter makes it fail. perl-base is in every Debian system.
    const result = await probe(
      sandbox,
      'case $(uname -m) in x86_64) nr=250;; aarch64) nr=219;; *) exit 3;; esac; ' +
        'perl -e \'$r = syscall($ARGV[0], 0, -3, 0); print "$r:", ($! + 0), "\\n"\' "$nr"',
    );
    assert.equal(result.stdout, '-1:1\n', `keyctl was not denied with EPERM: ${result.stdout} ${result.stderr}`);
  });

  it('cannot mount, unshare or become root', async () => {
    const sandbox = await h.sandbox();
    const attempts = {
      mount: 'mount -t tmpfs none /workspace',
      bindMount: 'mount --bind /workspace /tmp',
      unshareUser: 'unshare --user --map-root-user true',
      unshareMount: 'unshare --mount true',
      unshareNet: 'unshare --net true',
      su: 'su root -c true < /dev/null',
    };
    for (const [name, command] of Object.entries(attempts)) {
      const result = await probe(sandbox, `${command} && echo SUCCEEDED`);
      assert.doesNotMatch(result.stdout, /SUCCEEDED/, `${name} succeeded`);
    }
  });
});
