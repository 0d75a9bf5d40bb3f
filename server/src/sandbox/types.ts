// The one interface every sandbox driver implements (bwrap, docker; later kubernetes).
// Failure of a command is a value (ExecResult); exceptions are for bugs and broken sandboxes.

export interface SandboxLimits {
  /** Memory for everything in the sandbox, bytes. Default 2 GiB. */
  memoryBytes: number;
  /** Max processes/threads. Default 256. */
  pids: number;
  /** CPU cores (fractional allowed). Default 1. */
  cpus: number;
  /** Cap on what the task may write to its workspace + /tmp, bytes. Default 1 GiB. */
  diskBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  memoryBytes: 2 * 1024 ** 3,
  pids: 256,
  cpus: 1,
  diskBytes: 1024 ** 3,
};

export interface SandboxSpec {
  /** Unique per sandbox (task id + attempt). Used for cgroup / container names. */
  id: string;
  /** Host directory mounted read-write at /workspace (the task's copy-on-write view). */
  workspaceDir: string;
  /** Host git dir mounted read-only at /workspace/.git, so `git diff/status/log` work inside. */
  gitDir?: string;
  limits: SandboxLimits;
  /**
   * Every command of this sandbox may use the host's network (the task option `network: 'on'`).
   * Without it only an exec that asks for it (`ExecOptions.network`: the setup step) gets one.
   */
  network?: boolean;
  /**
   * docker: the image of this sandbox (an environment's, environments/), default the driver's.
   * bwrap runs the host's /usr and has no image: it ignores this.
   */
  image?: string;
}

export interface ExecOptions {
  /** Working directory relative to /workspace; default the workspace root. */
  cwd?: string;
  /** Environment for the command, on top of a minimal PATH/HOME/LANG. Never secrets. */
  env?: Record<string, string>;
  /** Kill the command (its whole process tree) after this long. Default 120 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Keep at most this many bytes of stdout and of stderr each (head + tail kept). Default 1 MiB. */
  maxOutputBytes?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  stdin?: string;
  /**
   * The host's network for this command (the setup step with options.network != off), in a
   * sandbox created without it. Default false; a sandbox created with `network` always has it.
   */
  network?: boolean;
}

/** A limit of the sandbox that stopped a command (killed it, or made it fail). */
export interface LimitHit {
  kind: 'memory' | 'pids' | 'disk' | 'file size' | 'time';
  /** Bytes (memory, disk, file size), processes (pids) or milliseconds (time). */
  value: number;
}

export interface ExecResult {
  /** null when killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: string;
  stderr: string;
  /** Some output was dropped by the cap. */
  truncated: boolean;
  durationMs: number;
  /** Set when the sandbox itself failed (not the command): e.g. bwrap could not start. */
  sandboxError?: string;
  /** The command ran into this limit (the out-of-memory killer, the pids cap, a full disk, the timeout). */
  limit?: LimitHit;
}

export interface Sandbox {
  readonly id: string;
  readonly driver: string;
  /** The host directory that is /workspace inside. */
  readonly workspaceDir: string;
  /** Run `command` (argv, or a string run by `/bin/sh -c`) inside the sandbox. */
  exec(command: string | string[], options?: ExecOptions): Promise<ExecResult>;
  /** Kill everything still running and release every resource. Idempotent, never throws. */
  dispose(): Promise<void>;
}

export type ProbeResult = { ok: true; detail?: string } | { ok: false; reason: string };

export interface SandboxDriver {
  readonly name: 'bwrap' | 'docker' | 'none';
  /** Can this driver run here? Cheap; cached by callers. */
  probe(): Promise<ProbeResult>;
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Release driver-wide resources (docker connection, cgroup parents). */
  close?(): Promise<void>;
}

/**
 * The unprivileged uid/gid that commands in the sandbox run as (host side) unless the server is
 * told another (config.ts: DELEGATE_SANDBOX_UID, passed as `uid`). Workspace files are owned by it
 * so copy-on-write layers stay writable inside. Never 0.
 */
export const SANDBOX_UID = 1500;
