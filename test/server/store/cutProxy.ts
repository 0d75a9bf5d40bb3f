// A TCP relay on loopback in front of PostgreSQL that a test can cut (every connection dropped,
// new ones refused) and restore on the same port: the database "going away" without stopping it.
// It can also lose the answer to a COMMIT (the connection drops right after the COMMIT went through).
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface CutProxy {
  port: number;
  /** How many times connections were cut. */
  cuts: number;
  cut(): void;
  restore(): Promise<void>;
  /**
   * The next `count` COMMITs reach the database, but their connection is dropped before the answer
   * comes back: the client cannot know whether it committed.
   */
  loseCommitAnswers(count: number): void;
  close(): Promise<void>;
}

export async function startCutProxy(targetPort: number): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let loseCommits = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => sock.destroy());
        }
        client.on('data', (chunk: Buffer) => {
          upstream.write(chunk);
          if (loseCommits > 0 && chunk.includes('COMMIT\0')) {
            loseCommits--;
            client.destroy();
            // The database gets time to run it before it sees its client go.
            setTimeout(() => upstream.destroy(), 300);
          }
        });
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  await listen();
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (!server) return resolve();
      const s = server;
      server = undefined;
      s.close(() => resolve());
    });
  const proxy: CutProxy = {
    get port() {
      return port;
    },
    cuts: 0,
    cut() {
      proxy.cuts++;
      void stop();
    },
    restore: listen,
    loseCommitAnswers(count) {
      loseCommits = count;
    },
    close: stop,
  };
  return proxy;
}
