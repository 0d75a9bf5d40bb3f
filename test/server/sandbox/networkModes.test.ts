// The task option `network` through the real server, for both drivers: 'off' gives no command the
// network, 'setup' only the setup script, 'on' the setup script and every command of the agent.
// Each connects to a listener on the host's loopback (bwrap shares the host's network namespace;
// docker gets host networking, the test engine having no bridge) and says who it is.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';
import { DRIVERS, SPARES_SWITCH, testDockerd } from './drivers';

/** Connects to the listener and sends NAME; prints whether it could. perl-base has IO::Socket. */
const connect = (port: number, name: string): string =>
  `perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:${port}", Timeout => 3) or do { print "no network for ${name}\\n"; exit 0 }; print $s "${name}\\n"; close $s; print "connected ${name}\\n"'`;

for (const driver of DRIVERS) {
  describe(`task option network, through the server [${driver}]`, function () {
    this.timeout(180_000);
    let model: FakeModel;
    let server: ServerProcess;
    let listener: NetServer;
    let port: number;
    let root: string;
    let repo: string;
    const heard: string[] = [];

    before(async function () {
      this.timeout(15 * 60_000); // a first docker run may have to build the image
      root = mkdtempSync(join(tmpdir(), 'delegate-network-'));
      chmodSync(root, 0o755);
      repo = join(root, 'repo');
      makeRepo(repo, { 'README.md': '# net\n' });
      listener = createServer((socket) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => heard.push(...text.split('\n').filter(Boolean)));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      port = (listener.address() as { port: number }).port;
      model = await startFakeModel();
      const env: Record<string, string> = driver === 'docker' ? { DOCKER_HOST: `unix://${(await testDockerd()).socket}` } : {};
      server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', driver, ...SPARES_SWITCH], env });
    });
    after(async () => {
      await server?.stop();
      await model?.close();
      await new Promise((resolve) => listener?.close(resolve));
      if (root) rmSync(root, { recursive: true, force: true });
    });

    for (const mode of ['off', 'setup', 'on'] as const) {
      it(`network '${mode}': ${mode === 'off' ? 'nothing reaches' : mode === 'setup' ? 'only the setup script reaches' : 'the setup script and the agent reach'} a listener on the host`, async () => {
        const script = `net-${driver}-${mode}`;
        model.setScript(script, [
          { toolCalls: [{ name: 'shell', arguments: { command: connect(port, `agent-${mode}`) } }] },
          { toolCalls: [{ name: 'finish', arguments: { summary: 'Connected or not.' } }] },
        ]);
        const task = await createTask(server, repo, `Reach the host [[script:${script}]]`, { network: mode, setupScript: connect(port, `setup-${mode}`) });
        const done = await waitForTask(server, task.id, isDone, 120_000);
        assert.equal(done.status, 'completed', JSON.stringify(done.error));
        assert.equal(done.sandbox, driver);
        const events = await allEvents(server, task.id);
        const setup = events.filter((e) => e.type === 'setup.log').map((e) => (e.type === 'setup.log' ? e.text : '')).join('');
        const shell = events.find((e) => e.type === 'tool.result' && e.name === 'shell');
        assert.ok(shell && shell.type === 'tool.result', 'the agent ran its command');
        const want = { off: [], setup: [`setup-${mode}`], on: [`setup-${mode}`, `agent-${mode}`] }[mode];
        assert.deepEqual(heard.filter((h) => h.endsWith(`-${mode}`)), want, `the listener heard ${JSON.stringify(heard)}`);
        assert.match(setup, mode === 'off' ? /no network for setup/ : /connected setup/);
        assert.match(shell.output, mode === 'on' ? /connected agent/ : /no network for agent/);
      });
    }
  });
}
