// N concurrent 4-step tasks on a server allowed to run all of them at once: wall time, p95 task
// time, and the server process's memory (VmRSS sampled every 10 ms; VmHWM as a cross-check).
import { readFileSync } from 'node:fs';
import { type Bench, type TaskRun } from '../bench';
import { nowMs, sleep } from '../clock';
import { summarize, type Summary } from '../stats';
import { checkFourStep, fourSteps } from './fourStep';

export interface BurstResult {
  tasks: number;
  completed: number;
  wallMs: number;
  taskMs: Summary | null;
  /** VmRSS just before this burst (grows burst to burst: V8 keeps the heap it grew). */
  beforeRssMb: number;
  peakRssMb: number;
  hwmMb: number;
  /** (peak − idle) / tasks, idle = VmRSS of the server after one task, before any burst. */
  perTaskMb: number;
}

export interface ConcurrentResult {
  /** VmRSS of the server after start and one task, before any burst. */
  idleRssMb: number;
  bursts: BurstResult[];
  wallMs: Summary | null;
  taskP95Ms: Summary | null;
  peakRssMb: Summary | null;
  perTaskMb: Summary | null;
  allCompleted: boolean;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

async function burst(bench: Bench, n: number, offset: number, idleKb: number): Promise<BurstResult> {
  const pid = bench.server.pid;
  await sleep(300); // let the previous burst's clean-up settle
  const before = statusKb(pid, 'VmRSS');
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, statusKb(pid, 'VmRSS'))), 10);
  const started = nowMs();
  let runs: PromiseSettledResult<TaskRun>[];
  try {
    const submitted = await Promise.all(Array.from({ length: n }, (_, i) => bench.submit(fourSteps(offset + i))));
    runs = await Promise.allSettled(submitted.map((s) => bench.complete(s, 240_000)));
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, statusKb(pid, 'VmRSS'));
  const wallMs = nowMs() - started;
  const ok = runs.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  for (const r of runs) if (r.status === 'rejected') console.error(`  a concurrent task failed: ${(r.reason as Error).message.split('\n')[0]}`);
  for (const run of ok) checkFourStep(run);
  const hwm = statusKb(pid, 'VmHWM');
  for (const run of ok) await bench.remove(run.id);
  return {
    tasks: n,
    completed: ok.length,
    wallMs: Math.round(wallMs),
    taskMs: summarize(ok.map((r) => r.finishedAt - r.sentAt)),
    beforeRssMb: mb(before),
    peakRssMb: mb(peak),
    hwmMb: mb(hwm),
    perTaskMb: mb((peak - idleKb) / n),
  };
}

/** One task, a warm-up burst of `warmupTasks`, then `bursts` bursts of `n` tasks. */
export async function concurrent(bench: Bench, n: number, warmupTasks: number, bursts: number): Promise<ConcurrentResult> {
  // This task stays, so the commit's shared base tree is kept between bursts (as in real use).
  await bench.run(fourSteps(10_000));
  await sleep(500);
  const idleKb = statusKb(bench.server.pid, 'VmRSS');
  if (warmupTasks > 0) await burst(bench, warmupTasks, 20_000, idleKb);
  const results: BurstResult[] = [];
  for (let i = 0; i < bursts; i++) results.push(await burst(bench, n, 30_000 + i * n, idleKb));
  return {
    idleRssMb: mb(idleKb),
    bursts: results,
    wallMs: summarize(results.map((r) => r.wallMs)),
    taskP95Ms: summarize(results.map((r) => r.taskMs?.p95 ?? Number.NaN)),
    peakRssMb: summarize(results.map((r) => r.peakRssMb)),
    perTaskMb: summarize(results.map((r) => r.perTaskMb)),
    allCompleted: results.every((r) => r.completed === r.tasks),
  };
}
