// Starts the real companion server (the built bin, as users run it) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { watchLogs } from './failureLogs';

const ROOT = join(__dirname, '..', '..');
export const SERVER_BIN = join(ROOT, 'server', 'bin', 'delegate-server.js');

export interface ServerProcess {
  url: string;
  token: string;
  dataDir: string;
  pid: number;
  port: number;
  /** Everything the server wrote to stdout/stderr so far. */
  logs(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill(): Promise<void>;
  /** Start again on the same port, data dir and token (after stop or kill). */
  restart(): Promise<ServerProcess>;
}

export interface StartServerOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** OPENAI_BASE_URL for the server (a fake model's baseUrl). */
  modelBaseUrl?: string;
  token?: string;
  port?: number;
  /** Run the server as this unprivileged user (uid = gid) instead of as the test's own user. */
  unprivilegedUid?: number;
}

const UNPRIVILEGED_BIN = join(__dirname, 'unprivilegedServer.cjs');

/**
 * DELEGATE_TEST_PLAIN=1: every server runs on the plain path alone (no sandboxes started ahead, no
 * repository watch, no base flattened in the background, node's spawn instead of the launcher), so the suite shows the fast layers are
 * only layers: `DELEGATE_TEST_PLAIN=1 node test/run.mjs server`.
 */
export const PLAIN = process.env.DELEGATE_TEST_PLAIN === '1';

export async function startServer(options: StartServerOptions = {}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'delegate-data-'));
  const token = options.token ?? randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DELEGATE_TOKEN: token,
    ...(options.modelBaseUrl ? { OPENAI_BASE_URL: options.modelBaseUrl, OPENAI_API_KEY: 'sk-test-fake-key-0123456789abcdef' } : {}),
    ...options.env,
  };
  const uid = options.unprivilegedUid;
  if (uid !== undefined) Object.assign(env, { DELEGATE_TEST_UID: String(uid), DELEGATE_TEST_GID: String(uid) });
  const bin = uid === undefined ? SERVER_BIN : UNPRIVILEGED_BIN;
  if (PLAIN) env.DELEGATE_NODE_SPAWN = '1';
  const args = [bin, '--port', String(options.port ?? 0), '--data-dir', dataDir, ...(PLAIN ? ['--no-spares', '--no-repo-watch', '--no-flatten-bases', '--no-prepare-ahead'] : []), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === 'listening' && rec.url) return resolve(rec.url);
        } catch {
          /* a partial line */
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`delegate-server exited (${code ?? signal}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`delegate-server did not start in 20 s:\n${output}`)), 20_000).unref();
  });
  // Keep collecting after start (the start listener parses; this one only appends).
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const port = Number(new URL(url).port);
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!hasExited(child)) child.kill(signal);
    await exited;
  };
  const proc: ServerProcess = {
    url,
    token,
    dataDir,
    pid: child.pid!,
    port,
    logs: () => output,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      return startServer({ ...options, dataDir, token, port });
    },
  };
  trackChild(child);
  watchLogs(`server ${url}`, () => output, () => hasExited(child));
  return proc;
}

/** Whether a child process has ended (by exit code or by signal). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Children still running when the test process exits are killed (no orphans on the shared box). */
const children = new Set<ChildProcess>();
function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Small typed HTTP client for tests. */
export async function api<T = unknown>(server: { url: string; token: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: (body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit | undefined,
  });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers };
}
