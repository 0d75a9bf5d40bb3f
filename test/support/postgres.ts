// A private PostgreSQL cluster for a test run: Debian's server binaries, a temp data dir owned by
// the `postgres` user (the tests run as root, and PostgreSQL refuses to), a free port on loopback
// (and any extra addresses, for network-namespace tests), fsync off. Connections over TCP need the
// password (scram), so tests can check that it never leaks. stop() ends it by pid and removes the
// dir; so does process exit, when a test forgot or failed before stopping it.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/DB */
  url(db: string, host?: string): string;
  /** Creates a database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  pid: number;
  port: number;
  password: string;
}

export const PG_PASSWORD = 'pg-test-secret-4f9a';

/** Debian's PostgreSQL server binaries (the newest installed major version). */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of majors) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'postgres')) && existsSync(join(bin, 'initdb'))) return bin;
  }
  throw new Error(`PostgreSQL is not installed (no ${root}/*/bin/postgres): the fleet's store tests need Debian's postgresql package (apt-get install postgresql; scripts/setup.sh installs it)`);
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('there is no `postgres` system user (Debian\'s postgresql package creates it)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { uid: ids.uid, gid: ids.gid, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}: ${stderr}`))));
  });
}

const running = new Set<{ child: ChildProcess; dir: string }>();
process.on('exit', () => {
  for (const r of running) {
    try {
      r.child.kill('SIGKILL');
    } catch {
      // already gone
    }
    rmSync(r.dir, { recursive: true, force: true });
  }
});

/** `listen`: more addresses to listen on besides 127.0.0.1 (e.g. a network namespace's bridge). */
export async function startPostgres(options: { listen?: string[] } = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  const ids = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'delegate-pg-'));
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, PG_PASSWORD + '\n', { mode: 0o600 });
  chownSync(pwfile, ids.uid, ids.gid);
  let entry: { child: ChildProcess; dir: string } | undefined;
  try {
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync', '--no-instructions'], ids);
    // Connections from the extra addresses (network namespaces) authenticate like loopback's.
    if (options.listen?.length) appendFileSync(join(data, 'pg_hba.conf'), 'host all all 0.0.0.0/0 scram-sha-256\n');
    const port = await freePort();
    const listen = ['127.0.0.1', ...(options.listen ?? [])].join(',');
    const child = spawn(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', `listen_addresses=${listen}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      { uid: ids.uid, gid: ids.gid, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' },
    );
    entry = { child, dir };
    running.add(entry);
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    const url = (db: string, host = '127.0.0.1') => `postgres://postgres:${PG_PASSWORD}@${host}:${port}/${db}`;
    await waitReady(url('postgres'), child, () => log);
    const started = entry;
    const stop = async () => {
      if (!running.has(started)) return;
      running.delete(started);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      url,
      async createDatabase(name) {
        const admin = new pg.Client({ connectionString: url('postgres') });
        await admin.connect();
        try {
          await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
        } finally {
          await admin.end();
        }
        return url(name);
      },
      stop,
      pid: child.pid!,
      port,
      password: PG_PASSWORD,
    };
  } catch (err) {
    if (entry) {
      running.delete(entry);
      entry.child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections within 30 s: ${(err as Error).message}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
