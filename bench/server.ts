// The real server (the bench's own bundle of the current sources) as a child process, and its
// clean-up: stopped by pid, its workspace mounts released, its data dir removed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sleep } from './clock';

export interface BenchServer {
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  logs(): string;
  stop(): Promise<void>;
}

export interface BenchServerOptions {
  bundle: string;
  modelBaseUrl: string;
  sandbox: 'bwrap' | 'docker';
  maxParallel?: number;
  env?: Record<string, string>;
  /** Extra node flags (profiling: --cpu-prof ...). */
  nodeArgs?: string[];
  /** Extra server flags (--server-arg: a fast layer switched off, say). */
  args?: string[];
}

const BIN = join(__dirname, 'serverBin.cjs');

export async function startBenchServer(options: BenchServerOptions): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'delegate-bench-data-'));
  const token = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? '/root',
    DELEGATE_TOKEN: token,
    OPENAI_BASE_URL: options.modelBaseUrl,
    OPENAI_API_KEY: 'sk-bench-fake-key-0123456789abcdef',
    ...(process.env.DELEGATE_NODE_SPAWN ? { DELEGATE_NODE_SPAWN: process.env.DELEGATE_NODE_SPAWN } : {}),
    ...options.env,
  };
  const args = [
    ...(options.nodeArgs ?? []), BIN, options.bundle,
    '--port', '0', '--data-dir', dataDir, '--sandbox', options.sandbox,
    ...(options.maxParallel ? ['--max-parallel', String(options.maxParallel)] : []),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    releaseMounts(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  // Info, as users run it: the listening line carries the URL.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`delegate-server exited before listening:\n${output}`);
    }
    const url = listeningUrl(output);
    if (url) {
      const health = await fetch(`${url}/healthz`).then((r) => r.json() as Promise<{ ok?: boolean }>, () => null);
      if (health?.ok) return { url, token, pid, dataDir, logs: () => output, stop };
      await stop();
      throw new Error(`delegate-server has no working sandbox: ${JSON.stringify(health)}\n${output}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`delegate-server did not listen within 30 s:\n${output}`);
    }
    await sleep(20);
  }
}

function listeningUrl(output: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as { msg?: string; url?: string };
      if (rec.msg === 'listening' && rec.url) return rec.url;
    } catch {
      // A partial line.
    }
  }
  return undefined;
}

/** Mounts a server left under its data dir (killed before it could close its workspaces). */
function releaseMounts(dataDir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((mp): mp is string => !!mp && mp.startsWith(`${dataDir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mp of mounts) {
    try {
      execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
}
