// A loopback HTTP endpoint through which tests running inside the extension host ask the runner
// for things only the runner can do. Its URL reaches them as DELEGATE_TEST_CONTROL_URL.
//   POST /restart-server  kill -9 the Delegate server, start it again on the same port, data dir
//                         and token; answers {"url": ...} once the new one listens.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ControlActions {
  restartServer(): Promise<{ url: string }>;
}

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(actions: ControlActions, log: (line: string) => void = () => {}): Promise<ControlServer> {
  // Restarts queue behind each other: two racing kill/start pairs would fight over the port.
  let chain: Promise<unknown> = Promise.resolve();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    req.resume();
    if (req.method === 'POST' && req.url === '/restart-server') {
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
