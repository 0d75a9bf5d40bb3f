// Escape suite: no network. A loopback HTTP server the test starts answers from the host but
// cannot be reached from inside the sandbox.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeEachDriver, probe } from './drivers';

describeEachDriver('escape: network', (h) => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((_, res) => res.end('host-secret-page'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // bash's /dev/tcp needs no network tools in the image.
  const connect = (): string =>
    `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port} && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3' && echo CONNECTED`;

  it('cannot reach a server on the host loopback', async () => {
    const fromHost = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    assert.equal(fromHost, 'host-secret-page', 'the server answers from outside');
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, connect());
    assert.doesNotMatch(result.stdout, /CONNECTED|host-secret-page/);
    assert.notEqual(result.exitCode, 0);
  });

  it('has no network interface but loopback', async () => {
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, 'cat /proc/net/dev');
    const interfaces = result.stdout.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
    assert.deepEqual(interfaces, ['lo']);
  });

  it('grants the host network to an exec that asks for it, and to no other', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec(connect(), { network: true });
    assert.match(result.stdout, /host-secret-page/, result.sandboxError ?? result.stderr);
    const after = await sandbox.exec(connect());
    assert.doesNotMatch(after.stdout, /host-secret-page/, 'the next exec without it has none');
  });

  it('grants the host network to every exec of a sandbox created with it', async () => {
    const sandbox = await h.sandbox({ network: true });
    const result = await sandbox.exec(connect());
    assert.match(result.stdout, /host-secret-page/, result.sandboxError ?? result.stderr);
  });
});
