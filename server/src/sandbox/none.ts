// No sandbox at all: commands run on the host as the server's user, in the workspace directory.
// Only for machines where nothing else works and only when chosen explicitly; it is loud about it.
import { posix, resolve, sep } from 'node:path';
import { emptyResult, runProcessGroup, type GroupRun } from './processGroup';
import type { ExecOptions, ExecResult, ProbeResult, Sandbox, SandboxDriver, SandboxSpec } from './types';
import { NO_LOG, type Logger } from '../log';
import type { ProcessRunner } from '../util/processRunner';

const WARNING = 'sandbox driver "none": agent commands run UNSANDBOXED on the host with the server\'s privileges';

export class NoneDriver implements SandboxDriver {
  readonly name = 'none' as const;
  private readonly log: Logger;

  /** `runner`: the server's ProcessRunner; every command goes through it. */
  constructor(
    private readonly runner: ProcessRunner,
    log?: Logger,
  ) {
    this.log = log ?? NO_LOG;
    this.log.warn(WARNING);
  }

  async probe(): Promise<ProbeResult> {
    return { ok: true, detail: 'UNSANDBOXED: commands run directly on the host' };
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    this.log.warn(WARNING, { id: spec.id });
    return new HostSandbox(spec, this.runner);
  }
}

class HostSandbox implements Sandbox {
  readonly driver = 'none';
  readonly id: string;
  readonly workspaceDir: string;
  private readonly running = new Set<GroupRun>();
  private disposed: Promise<void> | undefined;

  constructor(
    spec: SandboxSpec,
    private readonly runner: ProcessRunner,
  ) {
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
  }

  async exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    if (argv.length === 0) return emptyResult(started, { sandboxError: 'empty command' });
    const cwd = resolve(this.workspaceDir, posix.normalize(options.cwd ?? '.'));
    if (cwd !== this.workspaceDir && !cwd.startsWith(this.workspaceDir + sep)) {
      return emptyResult(started, { sandboxError: `cwd must stay inside the workspace: ${options.cwd}` });
    }
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: this.workspaceDir, LANG: 'C.UTF-8', ...options.env };
    const run = runProcessGroup(this.runner, { argv, env, cwd }, options);
    this.running.add(run);
    const { spawnError, ...result } = await run.result;
    this.running.delete(run);
    return spawnError ? { ...result, sandboxError: spawnError } : result;
  }

  dispose(): Promise<void> {
    return (this.disposed ??= (async () => {
      for (const run of this.running) run.kill();
      await Promise.all([...this.running].map((run) => run.result));
    })());
  }
}
