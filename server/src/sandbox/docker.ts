// The Docker driver: one long-lived container per sandbox (tini as pid 1, `sleep infinity` as the
// main process), every command a `docker exec` into it. No network, read-only root, size-capped
// /tmp, no capabilities, no-new-privileges, an unprivileged uid and cgroup limits from the engine.
import type Docker from 'dockerode';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { SANDBOX_BASE_ENV } from './baseEnv';
import type { SandboxLog } from './bwrap';
import { DEFAULT_MAX_OUTPUT_BYTES, OutputCapture } from './output';
import { DEFAULT_TIMEOUT_MS, emptyResult } from './processGroup';
import { SANDBOX_UID, type ExecOptions, type ExecResult, type ProbeResult, type Sandbox, type SandboxDriver, type SandboxSpec } from './types';

export const DEFAULT_DOCKER_IMAGE = 'delegate-sandbox:bookworm';
const WORKSPACE = '/workspace';
const PING_TIMEOUT_MS = 3_000;
/** After a kill, how long the exec stream may take to end before we stop waiting for it. */
const KILL_GRACE_MS = 5_000;

// Docker has no API to kill an exec. So the command runs in its own process group (setsid) whose
// id it reports as the first line of stderr before anything else runs; a second exec can then
// kill the group. The outer shell also kills the group when the command ends, so background jobs
// do not outlive the exec. fd 3 carries stdin past sh's /dev/null for background jobs.
const EXEC_WRAPPER =
  'exec 3<&0; setsid /bin/sh -c \'echo "$$" >&2; exec "$@"\' sh "$@" <&3 3<&- & c=$!; exec 3<&-; ' +
  'wait "$c" 2>/dev/null; rc=$?; kill -9 "-$c" 2>/dev/null; exit "$rc"';

export interface DockerDriverOptions {
  /** A unix socket path or a DOCKER_HOST-style URL (unix://, tcp://). Default DOCKER_HOST, then /var/run/docker.sock. */
  socket?: string;
  image?: string;
  log?: SandboxLog;
  uid?: number;
}

/** Where the engine listens: a unix socket path, or an http(s) URL. */
function dockerTarget(socket: string | undefined): { socketPath: string } | { host: string; port: number; protocol: 'http' | 'https' } {
  const target = socket ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
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

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class DockerDriver implements SandboxDriver {
  readonly name = 'docker' as const;
  readonly image: string;
  private readonly target: ReturnType<typeof dockerTarget>;
  private client: Promise<Docker> | undefined;
  private readonly uid: number;
  private readonly log: SandboxLog;

  constructor(private readonly options: DockerDriverOptions = {}) {
    this.target = dockerTarget(options.socket);
    this.image = options.image ?? DEFAULT_DOCKER_IMAGE;
    this.uid = options.uid ?? SANDBOX_UID;
    this.log = options.log ?? (() => {});
    if (this.uid === 0) throw new Error('the sandbox uid must not be 0');
  }

  private docker(): Promise<Docker> {
    return (this.client ??= dockerClient(this.options.socket));
  }

  async probe(): Promise<ProbeResult> {
    // No socket, no engine: said without loading the client library.
    if ('socketPath' in this.target && !(await stat(this.target.socketPath).then(() => true, () => false))) {
      return { ok: false, reason: `no docker engine: ${this.target.socketPath} does not exist` };
    }
    const docker = await this.docker();
    try {
      await withTimeout(docker.ping(), PING_TIMEOUT_MS, 'docker engine');
    } catch (err) {
      return { ok: false, reason: `no docker engine: ${(err as Error).message}` };
    }
    try {
      await docker.getImage(this.image).inspect();
    } catch {
      return { ok: false, reason: `docker image ${this.image} is missing (build it with scripts/build-sandbox-image.sh)` };
    }
    return { ok: true, detail: `docker, image ${this.image}, uid ${this.uid}` };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    const name = `delegate-${spec.id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}-${randomBytes(4).toString('hex')}`;
    const binds = [`${spec.workspaceDir}:${WORKSPACE}:rw`];
    if (spec.gitDir) binds.push(`${spec.gitDir}:${WORKSPACE}/.git:ro`);
    const docker = await this.docker();
    const container = await docker.createContainer({
      name,
      Image: this.image,
      Cmd: ['sleep', 'infinity'],
      User: `${this.uid}:${this.uid}`,
      WorkingDir: WORKSPACE,
      Hostname: 'sandbox',
      Env: Object.entries(SANDBOX_BASE_ENV).map(([k, v]) => `${k}=${v}`),
      Labels: { 'dev.delegate.sandbox': spec.id },
      HostConfig: {
        Init: true,
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${Math.max(1024 * 1024, Math.floor(spec.limits.diskBytes))},mode=1777` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: Math.floor(spec.limits.memoryBytes),
        MemorySwap: Math.floor(spec.limits.memoryBytes),
        PidsLimit: spec.limits.pids,
        NanoCpus: Math.round(spec.limits.cpus * 1e9),
        Binds: binds,
      },
    });
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      throw new Error(`cannot start sandbox container: ${(err as Error).message}`);
    }
    this.log('info', 'docker sandbox created', { id: spec.id, container: name });
    return new DockerSandbox(spec, container, this.uid);
  }
}

interface RunningExec {
  kill(): void;
  done: Promise<ExecResult>;
}

class DockerSandbox implements Sandbox {
  readonly driver = 'docker';
  readonly id: string;
  readonly workspaceDir: string;
  private readonly running = new Set<RunningExec>();
  private disposed: Promise<void> | undefined;

  constructor(
    spec: SandboxSpec,
    private readonly container: Docker.Container,
    private readonly uid: number,
  ) {
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
  }

  async exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    if (options.signal?.aborted) return emptyResult(started, { aborted: true });
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    if (argv.length === 0) return emptyResult(started, { sandboxError: 'empty command' });
    const cwd = posix.resolve(WORKSPACE, options.cwd ?? '.');
    if (cwd !== WORKSPACE && !cwd.startsWith(`${WORKSPACE}/`)) {
      return emptyResult(started, { sandboxError: `cwd must stay under ${WORKSPACE}: ${options.cwd}` });
    }
    if (options.network) {
      return emptyResult(started, { sandboxError: 'network is not available: docker sandboxes are created with NetworkMode none' });
    }
    const running = this.start(argv, cwd, options, started);
    this.running.add(running);
    const result = await running.done;
    this.running.delete(running);
    return result;
  }

  private start(argv: string[], cwd: string, options: ExecOptions, started: number): RunningExec {
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputCapture(maxBytes, options.onStdout);
    const stderr = new OutputCapture(maxBytes, options.onStderr);
    const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const state = { timedOut: false, aborted: false, pgid: undefined as number | undefined, killWanted: false, stream: undefined as Duplex | undefined };
    let onKilled: (() => void) | undefined;

    const sendKill = (): void => {
      if (state.pgid === undefined) return; // sent as soon as the group id arrives
      void this.container
        .exec({ Cmd: ['/bin/sh', '-c', `kill -9 -${state.pgid}`], User: `${this.uid}:${this.uid}`, AttachStdout: false, AttachStderr: false })
        .then((e) => e.start({ Detach: true }))
        .catch(() => {});
      onKilled?.();
    };
    const kill = (): void => {
      state.killWanted = true;
      sendKill();
    };
    const timer = setTimeout(() => {
      state.timedOut = true;
      kill();
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = (): void => {
      state.aborted = true;
      kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const done = (async (): Promise<ExecResult> => {
      let sandboxError: string | undefined;
      let exitCode: number | null = null;
      try {
        const exec = await this.container.exec({
          Cmd: ['/bin/sh', '-c', EXEC_WRAPPER, 'sh', ...argv],
          AttachStdin: options.stdin !== undefined,
          AttachStdout: true,
          AttachStderr: true,
          Env: env,
          WorkingDir: cwd,
          User: `${this.uid}:${this.uid}`,
        });
        const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
        state.stream = stream;
        let header: Buffer = Buffer.alloc(0);
        const ended = new Promise<void>((resolve) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', () => resolve());
          // A killed command normally ends the stream at once; do not hang if the engine does not.
          onKilled = () => setTimeout(() => { stream.destroy(); resolve(); }, KILL_GRACE_MS).unref();
        });
        demux(stream, (kind, chunk) => {
          if (kind === 1) return stdout.push(chunk);
          if (state.pgid !== undefined) return stderr.push(chunk);
          header = Buffer.concat([header, chunk]);
          const newline = header.indexOf(0x0a);
          if (newline < 0) return;
          state.pgid = Number(header.subarray(0, newline).toString());
          if (state.killWanted) sendKill();
          if (newline + 1 < header.length) stderr.push(header.subarray(newline + 1));
        });
        if (options.stdin !== undefined) stream.end(options.stdin);
        await ended;
        const info = await exec.inspect().catch(() => undefined);
        exitCode = info?.ExitCode ?? null;
        // The wrapper reports the group id before the command runs: without it, nothing ran.
        if (state.pgid === undefined && !state.timedOut && !state.aborted) {
          const said = `${header.toString()} ${stdout.text()}`.trim();
          sandboxError = `docker could not start the command (exit ${exitCode})${said ? `: ${said}` : ''}`;
        }
      } catch (err) {
        sandboxError = `docker exec failed: ${(err as Error).message}`;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      }
      stdout.end();
      stderr.end();
      const killed = state.timedOut || state.aborted;
      return {
        exitCode: killed ? null : exitCode,
        signal: killed ? 'SIGKILL' : null,
        timedOut: state.timedOut,
        aborted: state.aborted,
        // Before the command starts, whatever arrives is the engine talking, already in sandboxError.
        stdout: state.pgid === undefined ? '' : stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Date.now() - started,
        ...(sandboxError ? { sandboxError } : {}),
      };
    })();
    return { kill: onAbort, done };
  }

  dispose(): Promise<void> {
    return (this.disposed ??= (async () => {
      for (const run of this.running) run.kill();
      // Removing the container kills every process in it, and with them the exec streams.
      await this.container.remove({ force: true }).catch(() => {});
      await Promise.all([...this.running].map((run) => run.done));
    })());
  }
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
