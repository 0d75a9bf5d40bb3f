// A fleet for tests: N server nodes as separate processes (the built bundle, as users run it) on
// one PostgreSQL, each optionally in a network namespace of its own (test/support/netns.ts) so a
// test can cut one off. A node in a namespace reaches the database and the scripted model through
// relays on its link's host end, and the test reaches it at its namespace address.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNetns, type NetNs } from './netns';
import { watchLogs } from './failureLogs';
import { hasExited, SERVER_BIN } from './serverProcess';

export interface FleetNode {
  id: string;
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  netns?: NetNs;
  logs(): string;
  /** SIGTERM (graceful drain) and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9) and wait for exit. */
  kill(): Promise<void>;
  exited(): boolean;
}

export interface FleetOptions {
  nodes: number;
  /** postgres://USER@127.0.0.1:PORT/DB as the host sees it. */
  databaseUrl: string;
  /** The scripted model's base URL (http://127.0.0.1:PORT/v1). */
  modelBaseUrl: string;
  /** Put each node in a network namespace of its own. */
  netns?: boolean;
  /** Server arguments for every node (e.g. --lease-ms, --max-parallel). */
  args?: string[];
  /** Per-node extra arguments, by index. */
  nodeArgs?: (index: number) => string[];
  env?: Record<string, string>;
  token?: string;
  /** What runs a node (before its arguments); default the built bin, as users run it. */
  command?: string[];
}

export interface Fleet {
  nodes: FleetNode[];
  token: string;
  /** Start one more node with the fleet's settings. */
  add(): Promise<FleetNode>;
  /** Stop every node still running (SIGKILL after 10 s) and remove the namespaces. */
  close(): Promise<void>;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const nodes: FleetNode[] = [];
  const spaces: NetNs[] = [];
  let index = 0;
  const add = async (): Promise<FleetNode> => {
    const i = index++;
    let netns: NetNs | undefined;
    if (options.netns) {
      netns = await createNetns();
      spaces.push(netns);
    }
    const node = await startNode({ ...options, token, id: `node-${i}`, space: netns, extra: options.nodeArgs?.(i) ?? [] });
    nodes.push(node);
    return node;
  };
  const fleet: Fleet = {
    nodes,
    token,
    add,
    async close() {
      await Promise.all(
        nodes.map(async (n) => {
          const killer = setTimeout(() => void n.kill(), 10_000);
          await n.stop();
          clearTimeout(killer);
        }),
      );
      for (const ns of spaces) await ns.remove();
      // A node killed with -9 leaves its task views mounted in its data dir (a restarted node
      // would release them): unmounted here, by the data dirs this fleet made.
      for (const n of nodes) unmountBelow(n.dataDir);
    },
  };
  try {
    // One after another: nodes starting together all migrate the schema (the store makes that
    // safe), but the tests want to know which node is which.
    for (let i = 0; i < options.nodes; i++) await add();
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return fleet;
}

/** Rewrites a loopback URL's host:port to a relay on the namespace's link. */
async function throughRelay(url: string, netns: NetNs): Promise<string> {
  const u = new URL(url);
  const port = await netns.expose(Number(u.port));
  u.hostname = netns.hostAddress;
  u.port = String(port);
  return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
}

async function startNode(options: FleetOptions & { token: string; id: string; space?: NetNs; extra: string[] }): Promise<FleetNode> {
  const netns = options.space;
  const dataDir = mkdtempSync(join(tmpdir(), `delegate-${options.id}-`));
  const databaseUrl = netns ? await throughRelay(options.databaseUrl, netns) : options.databaseUrl;
  const modelBaseUrl = netns ? await throughRelay(options.modelBaseUrl, netns) : options.modelBaseUrl;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    DELEGATE_TOKEN: options.token,
    OPENAI_BASE_URL: modelBaseUrl,
    OPENAI_API_KEY: 'sk-test-fake-key-0123456789abcdef',
    ...options.env,
  };
  const args = [
    ...(options.command ?? [SERVER_BIN]),
    '--host', netns ? netns.address : '127.0.0.1',
    '--port', '0',
    '--data-dir', dataDir,
    '--database-url', databaseUrl,
    '--node-id', options.id,
    ...(options.args ?? []),
    ...options.extra,
  ];
  const argv = netns ? [...netns.command, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(output);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    child.once('exit', (code, signal) => {
      clearInterval(timer);
      reject(new Error(`${options.id} exited (${code ?? signal}) before listening:\n${output}`));
    });
    setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`${options.id} did not start in 30 s:\n${output}`));
    }, 30_000).unref();
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (!hasExited(child)) child.kill(signal);
    await exited;
  };
  watchLogs(`fleet node ${options.id}`, () => output, () => hasExited(child));
  return {
    id: options.id,
    url,
    token: options.token,
    pid: child.pid!,
    dataDir,
    netns,
    logs: () => output,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    exited: () => hasExited(child),
  };
}

function unmountBelow(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      execFileSync('/usr/bin/umount', ['-l', p], { stdio: 'ignore' });
    } catch {
      /* gone meanwhile */
    }
  }
}

/** Nodes still running when the test process exits are killed (no orphans on the shared box). */
const children = new Set<ChildProcess>();
function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
