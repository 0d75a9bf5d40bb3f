// Picks and builds the sandbox driver the server runs tasks in. No driver (null + reason) means
// the server must refuse to run tasks; it never falls back to running commands unsandboxed.
import { join } from 'node:path';
import { BwrapDriver } from './bwrap';
import { SparingDriver, sweepStaleSlots, type SlotDriver } from './spares';
import { detectCgroups, sweepStaleCgroups, type CgroupDetection } from './cgroups';
import { DockerDriver } from './docker';
import { NoneDriver } from './none';
import { DEFAULT_LIMITS, SANDBOX_UID, type SandboxDriver } from './types';
import { NO_LOG, type Logger } from '../log';
import { SpawnRunner, type ProcessRunner } from '../util/processRunner';

export type SandboxKind = 'auto' | 'bwrap' | 'docker' | 'none';

export interface SandboxDriverOptions {
  /** The server's data directory: the mount slots of sandboxes started ahead are in `sandboxes/`. */
  dataDir: string;
  /** Docker socket path or DOCKER_HOST-style URL (config.ts reads DOCKER_HOST); default /var/run/docker.sock. */
  dockerSocket?: string;
  /** Default delegate-sandbox:bookworm (scripts/build-sandbox-image.sh). */
  dockerImage?: string;
  log?: Logger;
  /**
   * As root: how many sandboxes (bwrap) or containers (docker on this machine) to keep started
   * ahead of the next tasks (default 0: none, and no SparingDriver layer; the server keeps 2
   * unless --no-spares). Whoever asks for them must close() the driver: they hold mounts in dataDir.
   */
  spares?: number;
  /**
   * Run tasks even where the sandboxes' memory or disk cannot be capped (an ordinary user without
   * a delegated cgroup; a workspace that is a plain checkout). Without it such a driver is refused.
   */
  allowUncapped?: boolean;
  /** The host uid sandboxed commands run as (default SANDBOX_UID). */
  uid?: number;
  /** How the server starts processes (main.ts chooses it; default the plain SpawnRunner). */
  runner?: ProcessRunner;
}

export interface SandboxDriverChoice {
  driver: SandboxDriver | null;
  /** Why no driver could be used (driver null), or why auto passed over docker. */
  reason?: string;
  /** What the sandboxes run without (allowed with allowUncapped): said at start and in /healthz. */
  uncapped?: string;
}

/**
 * What a driver cannot cap here, and why. Memory: bwrap needs a writable cgroup (docker's engine
 * has its own). Disk: as root the task's view is an overlay whose upper dir is a size-capped
 * tmpfs; an ordinary user cannot mount, so the workspace is a checkout on the host's disk where
 * only each file is capped (RLIMIT_FSIZE) and nothing caps the total.
 */
function uncappedLimits(driver: SandboxDriver, cgroups: CgroupDetection | undefined): string | undefined {
  const missing: string[] = [];
  if (driver.name === 'bwrap' && cgroups && !cgroups.ok) missing.push(`NO memory cap (${cgroups.reason})`);
  if (driver.name !== 'none' && process.getuid?.() !== 0) missing.push('NO disk cap on the workspace (a checkout on the host\'s disk: an ordinary user cannot mount a size-capped one; only each file is capped)');
  return missing.length ? missing.join('; ') : undefined;
}

/** A driver that cannot cap what it runs is refused unless the operator accepted that. */
function gate(choice: SandboxDriverChoice, cgroups: CgroupDetection | undefined, options: SandboxDriverOptions, log: Logger): SandboxDriverChoice {
  if (!choice.driver) return choice;
  const uncapped = uncappedLimits(choice.driver, cgroups);
  if (!uncapped) return choice;
  if (!options.allowUncapped) {
    void choice.driver.close?.();
    return { driver: null, reason: `sandboxes here would run with ${uncapped}; start the server with --allow-uncapped to run tasks anyway` };
  }
  log.warn('SANDBOXES UNCAPPED (--allow-uncapped): a task can use this machine\'s memory and disk without limit', { uncapped });
  return { ...choice, uncapped };
}

export async function createSandboxDriver(kind: SandboxKind, options: SandboxDriverOptions): Promise<SandboxDriverChoice> {
  const log = options.log ?? NO_LOG;
  const runner = options.runner ?? new SpawnRunner();
  // Sandboxes started ahead of their tasks are a layer around the driver (spares.ts), where it can
  // bind a slot; the slots are in DATA/sandboxes, and what a server that is gone left there is
  // released first.
  const spares = options.spares ?? 0;
  let slotsSwept: Promise<void> | undefined;
  const withSpares = async (driver: SlotDriver): Promise<SandboxDriver> => {
    if (spares === 0 || !driver.slotsReachable) return driver;
    const dir = join(options.dataDir, 'sandboxes');
    await (slotsSwept ??= sweepStaleSlots(dir, runner).then((swept) => {
      if (swept) log.info('released sandbox mount slots left by a stopped server', { count: swept });
    }));
    return new SparingDriver(driver, { dir, count: spares, limits: DEFAULT_LIMITS, uid: options.uid ?? SANDBOX_UID, runner, log });
  };
  const docker = async (): Promise<SandboxDriverChoice> => {
    const driver = await withSpares(new DockerDriver({ socket: options.dockerSocket, image: options.dockerImage, log, uid: options.uid }));
    const probe = await driver.probe();
    return probe.ok ? gate({ driver }, undefined, options, log) : { driver: null, reason: probe.reason };
  };
  const bwrap = async (): Promise<SandboxDriverChoice> => {
    const cgroups = await detectCgroups();
    if (!cgroups.ok) log.warn('sandboxes will run without memory/pids/cpu limits', { reason: cgroups.reason });
    else {
      const swept = await sweepStaleCgroups(cgroups.layout);
      if (swept) log.info('removed sandbox cgroups left by a stopped server', { count: swept });
    }
    const driver = await withSpares(new BwrapDriver({ cgroups, log, uid: options.uid, runner }));
    const probe = await driver.probe();
    if (!probe.ok) return { driver: null, reason: probe.reason };
    log.info('sandbox driver bwrap', { detail: probe.detail });
    return gate({ driver }, cgroups, options, log);
  };

  switch (kind) {
    case 'docker':
      return docker();
    case 'bwrap':
      return bwrap();
    case 'none':
      return { driver: new NoneDriver(runner, log) };
    case 'auto': {
      const viaDocker = await docker();
      if (viaDocker.driver) return viaDocker;
      const viaBwrap = await bwrap();
      if (viaBwrap.driver) return { ...viaBwrap, reason: `docker not used: ${viaDocker.reason}` };
      return { driver: null, reason: `no sandbox available. docker: ${viaDocker.reason}; bwrap: ${viaBwrap.reason}` };
    }
    default: {
      const unknown: never = kind;
      return { driver: null, reason: `unknown sandbox kind ${String(unknown)}` };
    }
  }
}

export { BwrapDriver } from './bwrap';
export { DockerDriver, DEFAULT_DOCKER_IMAGE } from './docker';
export { NoneDriver } from './none';
export * from './types';
