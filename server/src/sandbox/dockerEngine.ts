// The docker engine as the driver needs it: where it listens, the client (loaded only when used),
// and a container's supervisor spoken to over `docker attach`.
import type Docker from 'dockerode';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import { processAlive } from './cgroups';
import type { SupervisorChild } from './supervisor';

/** Which server a container is for: `<hostname>/<pid>`, so a later server can remove a dead one's. */
export const OWNER_LABEL = 'dev.delegate.server';
export const owner = (): string => `${hostname()}/${process.pid}`;

/** Where the engine listens: a unix socket path, or an http(s) URL. */
export function dockerTarget(socket: string | undefined): { socketPath: string } | { host: string; port: number; protocol: 'http' | 'https' } {
  const target = socket ?? 'unix:///var/run/docker.sock';
  if (target.startsWith('/')) return { socketPath: target };
  if (target.startsWith('unix://')) return { socketPath: target.slice('unix://'.length) };
  const url = new URL(target.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
}

/**
 * dockerode (and ssh2 under it) costs ~23 MB of memory and ~200 ms to load: only loaded once a
 * docker engine is actually used, not by servers running bwrap.
 */
export async function dockerClient(socket: string | undefined): Promise<Docker> {
  const { default: Dockerode } = await import('dockerode');
  return new Dockerode(dockerTarget(socket));
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The supervisor's end of a `docker attach` stream as a child process: stdin is the container's
 * stdin; stdout and stderr come multiplexed; it exits when the container stops.
 */
export function attachedChild(stream: Duplex, stopped: () => Promise<string | undefined>): SupervisorChild {
  const stdout = new EventEmitter();
  const stderr = new EventEmitter();
  const events = new EventEmitter();
  let exited = false;
  demux(stream, (kind, chunk) => (kind === 2 ? stderr : stdout).emit('data', chunk));
  const exit = (): void => {
    if (exited) return;
    exited = true;
    // Why it stopped, as the engine saw it (OOM killed, exit code), told before the exit.
    void stopped().then((why) => {
      if (why) stderr.emit('data', Buffer.from(why));
      events.emit('exit', null, null);
    });
  };
  stream.on('end', exit);
  stream.on('close', exit);
  stream.on('error', exit);
  const stdin = {
    get writable(): boolean {
      return !exited && stream.writable;
    },
    write: (data: Buffer) => stream.write(data),
    on: (_event: 'error', listener: (err: Error) => void) => stream.on('error', listener),
  };
  return { stdin, stdout, stderr, on: (event: string, listener: Parameters<EventEmitter['on']>[1]) => events.on(event, listener) };
}

/** Docker's multiplexed attach stream: 8-byte headers [stream, 0, 0, 0, size (u32 BE)]. */
function demux(stream: Duplex, onFrame: (kind: number, chunk: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      onFrame(pending[0]!, pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  });
}

/**
 * Removes the containers of servers on this machine that are gone (killed before they could
 * remove them; with a supervisor they have stopped already, at the end of its input).
 */
export async function sweepStaleContainers(docker: Docker): Promise<number> {
  const mine = `${hostname()}/`;
  const stale = (await docker.listContainers({ all: true, filters: { label: [OWNER_LABEL] } })).filter((c) => {
    const label = c.Labels[OWNER_LABEL] ?? '';
    const pid = Number(label.slice(mine.length));
    return label.startsWith(mine) && Number.isInteger(pid) && pid > 0 && !processAlive(pid);
  });
  await Promise.all(stale.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
  return stale.length;
}
