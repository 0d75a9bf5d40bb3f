// A loopback HTTP endpoint through which tests running inside the extension host ask the runner
// for things only the runner can do. Its URL reaches them as DELEGATE_TEST_CONTROL_URL.
//   POST /restart-server  kill -9 the Delegate server, start it again on the same port, data dir
//                         and token; answers {"url": ...} once the new one listens.
//   GET  /github/branch?owner=O&repo=R&branch=B
//                         the branch as the fake GitHub holds it: {commit, parents, message,
//                         files: {path: text}}, or 404 when it does not exist.
//   GET  /github/pulls    the pull requests the fake GitHub has opened, oldest first.
//   POST /servers/without-model
//                         starts another Delegate server, with the same token but no model
//                         endpoint (as a user who did not set OPENAI_BASE_URL); answers {"url": ...}.
//   POST /servers/team?allow=LIST
//                         starts another Delegate server that admits the GitHub users LIST
//                         (--github-allow, checked against the fake GitHub) and has its own admin
//                         token; answers {"url": ..., "adminToken": ...}.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BranchSnapshot } from '../support/gitHttpServer';
import type { FakePull } from '../support/githubDouble';

export interface ControlActions {
  restartServer(): Promise<{ url: string }>;
  readBranch(owner: string, repo: string, branch: string): Promise<BranchSnapshot | null>;
  pulls(): FakePull[];
  startServerWithoutModel(): Promise<{ url: string }>;
  startTeamServer(allow: string): Promise<{ url: string; adminToken: string }>;
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/** What GET /github/branch answers: the snapshot without its raw buffers. */
export type BranchView = Omit<BranchSnapshot, 'raw'>;

export async function startControlServer(actions: ControlActions, log: (line: string) => void = () => {}): Promise<ControlServer> {
  // Restarts queue behind each other: two racing kill/start pairs would fight over the port.
  let chain: Promise<unknown> = Promise.resolve();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const failed = (e: Error): void => reply(500, { error: { code: 'control_failed', message: e.message } });
    req.resume();
    const url = new URL(req.url ?? '/', 'http://control');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'POST /restart-server') {
      const done = chain.then(() => actions.restartServer());
      chain = done.catch(() => undefined);
      done.then(
        (r) => {
          log(`control: server restarted at ${r.url}`);
          reply(200, r);
        },
        (e: Error) => {
          log(`control: server restart failed: ${e.message}`);
          reply(500, { error: { code: 'restart_failed', message: e.message } });
        },
      );
      return;
    }
    if (route === 'GET /github/branch') {
      const [owner, repo, branch] = ['owner', 'repo', 'branch'].map((k) => url.searchParams.get(k) ?? '');
      if (!owner || !repo || !branch) return reply(400, { error: { code: 'bad_request', message: 'owner, repo and branch are required' } });
      actions.readBranch(owner, repo, branch).then((snapshot) => {
        if (!snapshot) return reply(404, { error: { code: 'not_found', message: `no branch ${branch} in ${owner}/${repo}` } });
        const { raw: _raw, ...view } = snapshot;
        reply(200, view satisfies BranchView);
      }, failed);
      return;
    }
    if (route === 'GET /github/pulls') return reply(200, actions.pulls());
    if (route === 'POST /servers/without-model') {
      actions.startServerWithoutModel().then((r) => reply(200, r), failed);
      return;
    }
    if (route === 'POST /servers/team') {
      const allow = url.searchParams.get('allow') ?? '';
      if (!allow) return reply(400, { error: { code: 'bad_request', message: 'allow is required' } });
      actions.startTeamServer(allow).then((r) => reply(200, r), failed);
      return;
    }
    reply(404, { error: { code: 'not_found', message: `${req.method} ${req.url}` } });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
