// What every web test starts: the scripted model, the GitHub double behind a loopback front (git
// reads of a public repository need no credentials, pushes and the API go through untouched), the
// real server, Chromium, and a TCP relay a test can cut to drop the page's connections.
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startFakeModel, type FakeModel } from '../support/fakeModel';
import { startFakeGitHub, type FakeGitHub, type FakeUser } from '../support/githubDouble';
import { startServer, type ServerProcess } from '../support/serverProcess';

export const GITHUB_TOKEN = 'ghp_' + 'w3b7e5t'.repeat(5);
export const A_TXT = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

export interface WebFixture {
  model: FakeModel;
  github: FakeGitHub;
  /** The double's origin as the server and the browser see it (through the front). */
  githubUrl: string;
  /** The public repository octo/demo (a.txt), fetched without credentials. */
  remoteUrl: string;
  server: ServerProcess;
  browser: TestBrowser;
  close(): Promise<void>;
}

export async function startWebFixture(opts: { serverArgs?: (githubUrl: string) => string[]; env?: Record<string, string>; users?: Record<string, FakeUser> } = {}): Promise<WebFixture> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const model = await startFakeModel();
    closers.push(() => model.close());
    const github = await startFakeGitHub({ token: GITHUB_TOKEN, users: opts.users ?? {} });
    closers.push(() => github.close());
    const front = await publicFront(github.url, GITHUB_TOKEN);
    closers.push(() => new Promise((r) => front.server.close(r)));
    await github.createRepo('octo', 'demo', { 'a.txt': A_TXT });
    const server = await startServer({
      modelBaseUrl: model.baseUrl,
      args: ['--sandbox', 'bwrap', '--github-api-url', `${front.url}/api/v3`, ...(opts.serverArgs?.(front.url) ?? [])],
      ...(opts.env ? { env: opts.env } : {}),
    });
    closers.push(() => server.stop());
    const browser = await launchBrowser();
    closers.push(() => browser.close());
    browser.allowOrigin(server.url);
    browser.allowOrigin(front.url);
    return { model, github, githubUrl: front.url, remoteUrl: `${front.url}/octo/demo.git`, server, browser, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The double as a public repository looks: git reads get the double's credentials added here,
 * pushes and everything else pass as they come (a push still needs the user's token).
 */
async function publicFront(target: string, token: string): Promise<{ url: string; server: Server }> {
  const to = new URL(target);
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    const gitRead = /\.git\//.test(url.pathname) && url.searchParams.get('service') !== 'git-receive-pack' && !url.pathname.endsWith('/git-receive-pack');
    const headers = { ...req.headers, host: to.host };
    if (gitRead && !headers.authorization) headers.authorization = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (back) => {
      res.writeHead(back.statusCode ?? 502, back.headers);
      back.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export interface Relay {
  url: string;
  /** The first line of each connection's first request (e.g. `GET /v1/events?since=12 HTTP/1.1`). */
  requestLines: string[];
  /** Drop every open connection; while held, new ones are refused too. */
  cut(hold: boolean): void;
  release(): void;
  close(): Promise<void>;
}

/** A TCP relay to `port`: the page is served through it so a test can drop its connections. */
export async function startRelay(port: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const requestLines: string[] = [];
  let held = false;
  const server: TcpServer = createTcpServer((client) => {
    if (held) return void client.destroy();
    const upstream = connect(port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.once('data', (chunk: Buffer) => void requestLines.push(chunk.toString('latin1').split('\r\n', 1)[0]!));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requestLines,
    cut(hold) {
      held = hold;
      for (const s of sockets) s.destroy();
    },
    release() {
      held = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
