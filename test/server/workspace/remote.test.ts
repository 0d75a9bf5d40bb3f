// A repository the server fetches itself over HTTPS-like smart HTTP with the user's token: the
// token reaches git only through the environment, never argv, config, the mirror or the view.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFiles, createBareRepo, createGitBackend, type GitBackend } from '../../support/gitHttpServer';
import { makeFixture, MODES, type Fixture } from './fixture';

const TOKEN = 'ghs_remoteTestToken123456789';

for (const mode of MODES) {
  describe(`workspace (${mode}): remote repositories`, () => {
    let fx: Fixture;
    let server: Server;
    let backend: GitBackend;
    let url: string;
    let commit: string;
    const requests: string[] = [];

    beforeEach(async () => {
      fx = makeFixture('remote');
      const created = await createBareRepo(join(fx.root, 'served'), 'octo', 'project', { 'README.md': '# project\n', 'src/main.ts': 'main();\n' });
      commit = created.commit;
      backend = createGitBackend({ root: join(fx.root, 'served'), token: TOKEN, pushForbidden: () => true, log: (l) => requests.push(l) });
      server = createServer((req, res) => backend.handle(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/octo/project.git`;
    });
    afterEach(async () => {
      backend.close();
      await new Promise((resolve) => server.close(resolve));
      await fx.cleanup();
    });

    it('fetches with the token and keeps it off disk', async () => {
      const ws = await fx.prepare({ key: 'remote-1', repo: { kind: 'remote', url, branch: 'main' }, fetchToken: TOKEN, mode });
      assert.equal(ws.repo.commit, commit);
      assert.equal(ws.repo.name, 'project');
      assert.equal(ws.repo.remoteUrl, url);
      assert.equal(readFileSync(join(ws.dir, 'src/main.ts'), 'utf8'), 'main();\n');
      for (const form of [TOKEN, Buffer.from(`x-access-token:${TOKEN}`).toString('base64')]) {
        const grep = spawnSync('grep', ['-rl', '--binary-files=text', '-F', form, fx.dataDir], { encoding: 'utf8' });
        assert.equal(grep.status, 1, `token found on disk: ${grep.stdout}`);
      }

      // A newer commit on the branch: a second task sees it; a pinned older one still works.
      const second = await commitFiles(join(fx.root, 'served', 'octo', 'project.git'), 'main', { 'src/main.ts': 'main(2);\n' });
      const ws2 = await fx.prepare({ key: 'remote-2', repo: { kind: 'remote', url, branch: 'main' }, fetchToken: TOKEN, mode });
      assert.equal(ws2.repo.commit, second);
      const ws3 = await fx.prepare({ key: 'remote-3', repo: { kind: 'remote', url, commit }, mode });
      assert.equal(readFileSync(join(ws3.dir, 'src/main.ts'), 'utf8'), 'main();\n', 'already mirrored: no fetch, no token needed');
    }).timeout(120_000);

    it('fails cleanly without the right token and refuses credentials in URLs', async () => {
      await assert.rejects(
        fx.prepare({ key: 'remote-bad', repo: { kind: 'remote', url }, fetchToken: 'wrong', mode }),
        (err: Error & { code?: string }) => err.code === 'repo_error' && /could not fetch/.test(err.message) && !err.message.includes('wrong'),
      );
      await assert.rejects(fx.prepare({ key: 'remote-cred', repo: { kind: 'remote', url: url.replace('http://', `http://x:${TOKEN}@`) }, mode }), /must not carry credentials/);
      await assert.rejects(fx.prepare({ key: 'remote-ext', repo: { kind: 'remote', url: 'ext::sh -c touch% /tmp/pwned' }, mode }), /only http\(s\)|not a URL/);
    });
  });
}
