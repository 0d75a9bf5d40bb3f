// Which of a sandbox's limits a command ran into. The kernel's answer to a limit is a bare signal
// or errno (the OOM killer's SIGKILL is "exit 137", a full tmpfs is ENOSPC): the model and the
// user are told the limit and its value instead, so they can change course (smaller test shards,
// less output) rather than retry the same command.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult, LimitHit, SandboxLimits } from './types';

/** The cgroup directories (host paths) whose event counters tell a limit was hit. */
export interface CgroupCounters {
  /** memory.events (v2) or memory.oom_control (v1) lives here. */
  memory?: string;
  /** pids.events. */
  pids?: string;
}

export interface Counts {
  oomKills: number;
  pidsMax: number;
}

async function counter(file: string, key: string): Promise<number> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

/**
 * The OOM kills and refused forks a cgroup has counted so far. A sandbox reads them after every
 * command and takes that as the next command's "before" (two files less to read on the way to
 * each command): a kill between two commands (a background process) counts for the next one, as
 * one during a command already does.
 */
export async function readCounts(dirs: CgroupCounters): Promise<Counts> {
  const memory = dirs.memory;
  const [oomKills, pidsMax] = await Promise.all([
    memory ? counter(join(memory, 'memory.events'), 'oom_kill').then((n) => n || counter(join(memory, 'memory.oom_control'), 'oom_kill')) : 0,
    dirs.pids ? counter(join(dirs.pids, 'pids.events'), 'max') : 0,
  ]);
  return { oomKills, pidsMax };
}

/** Space left below which a failed command is taken to have filled its workspace's filesystem. */
const FULL_BELOW_BYTES = 64 * 1024;
const SIGXFSZ = 25;

/**
 * The limit a finished command ran into, judged from how it ended and the cgroup's counters
 * before and after it. Undefined when it ended on its own terms (or was aborted).
 */
export async function limitReached(
  result: ExecResult,
  context: { limits: SandboxLimits; timeoutMs: number; before?: Counts; after?: Counts; workspaceDir?: string; fileSizeLimited?: boolean },
): Promise<LimitHit | undefined> {
  if (result.aborted || result.sandboxError) return undefined;
  if (result.timedOut) return { kind: 'time', value: context.timeoutMs };
  const { before, after, limits } = context;
  if (before && after && after.oomKills > before.oomKills) return { kind: 'memory', value: limits.memoryBytes };
  if (result.exitCode === 0) return undefined;
  // SIGXFSZ, reported as 128 + 25 like any signal that is not ours.
  if (context.fileSizeLimited && (result.exitCode === 128 + SIGXFSZ || result.signal === 'SIGXFSZ')) return { kind: 'file size', value: limits.diskBytes };
  if (before && after && after.pidsMax > before.pidsMax) return { kind: 'pids', value: limits.pids };
  if (context.workspaceDir) {
    const st = await fs.statfs(context.workspaceDir).catch(() => undefined);
    if (st && st.blocks > 0 && st.bavail * st.bsize < FULL_BELOW_BYTES) return { kind: 'disk', value: st.blocks * st.bsize };
  }
  return undefined;
}

/** "memory limit 2048 MiB", "time limit 120 s": for the model and the user. */
export function describeLimit(limit: LimitHit): string {
  const mib = (bytes: number): string => `${Math.round(bytes / 1024 ** 2)} MiB`;
  switch (limit.kind) {
    case 'memory':
      return `memory limit ${mib(limit.value)}`;
    case 'pids':
      return `process limit ${limit.value}`;
    case 'disk':
      return `disk limit ${mib(limit.value)}`;
    case 'file size':
      return `file size limit ${mib(limit.value)}`;
    case 'time':
      return `time limit ${Math.round(limit.value / 100) / 10} s`;
    default: {
      const unknown: never = limit.kind;
      return String(unknown);
    }
  }
}
