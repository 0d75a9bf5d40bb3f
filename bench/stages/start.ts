// Task accepted → first sandboxed command started. The first command is `date +%s%N`: its stamp
// is the moment the command began inside the sandbox, compared with the moment the POST was sent.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll } from '../../test/support/gitRepo';
import { type Bench, finish, shell, stampIn, toolResults, type TaskRun } from '../bench';
import { nsToMs } from '../clock';
import { summarize, type Summary } from '../stats';

export interface StartResult {
  /** POST sent → first command running (ms). */
  startMs: Summary | null;
  /** Where the time goes, median of each phase (ms). */
  phases: Record<string, Summary | null>;
}

const STEPS = [shell('date +%s%N'), finish('Started.')];

function commandStartedAt(run: TaskRun): number {
  const first = toolResults(run)[0];
  const stamp = first && stampIn(first.output);
  if (!stamp) throw new Error(`task ${run.id}: the first command printed no timestamp: ${JSON.stringify(first)}`);
  return nsToMs(stamp);
}

function phasesOf(run: TaskRun, startedAt: number): Record<string, number> {
  const at = (type: string, status?: string) =>
    run.events.find((r) => r.event.type === type && (status === undefined || (r.event.type === 'task.status' && r.event.status === status)))?.at ?? Number.NaN;
  const running = at('task.status', 'running');
  const turn0 = run.turns[0]!;
  return {
    'POST → 201': run.acceptedAt - run.sentAt,
    // Event times are when the WebSocket frame arrived here: close to, not exactly, when they happened.
    'POST → preparing (ws)': at('task.status', 'preparing') - run.sentAt,
    'preparing → running (ws): workspace + sandbox': running - at('task.status', 'preparing'),
    'running (ws) → 1st model request': turn0.requestAt - running,
    'model reply sent → command started': startedAt - turn0.replyEndAt,
  };
}

async function measure(bench: Bench, runs: number, before?: () => void | Promise<void>): Promise<StartResult> {
  const totals: number[] = [];
  const phases: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    await before?.();
    const run = await bench.run(STEPS);
    const startedAt = commandStartedAt(run);
    totals.push(startedAt - run.sentAt);
    for (const [k, v] of Object.entries(phasesOf(run, startedAt))) (phases[k] ??= []).push(v);
  }
  return { startMs: summarize(totals), phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, summarize(v)])) };
}

/** Warm: the repository's commit already has its shared base tree (every task after the first). */
export async function startWarm(bench: Bench, warmup: number, runs: number): Promise<StartResult> {
  for (let i = 0; i < warmup; i++) await bench.run(STEPS);
  return measure(bench, runs);
}

/** A new commit on the bench repository (one file changed), so the next task starts cold. */
export function newCommit(bench: Bench): void {
  const revision = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  writeFileSync(join(bench.repo, 'README.md'), `# large\n\nrevision ${revision}\n`);
  commitAll(bench.repo, `bench revision ${revision}`);
}

/** Cold: a new commit each time, so the server mirrors it and builds the commit's base first. */
export async function startCold(bench: Bench, runs: number): Promise<StartResult> {
  return measure(bench, runs, () => newCommit(bench));
}

/** How long a user takes from a commit to a task, in the "ahead" rows: the server's --prepare-ahead has it ready by then. */
export const AHEAD_MS = 1000;

/**
 * A new commit, and the task AHEAD_MS later: the server noticed the commit (workspace/ahead.ts)
 * and prepared it meanwhile, as it does for a user who commits, then delegates.
 */
export async function newCommitAhead(bench: Bench): Promise<void> {
  newCommit(bench);
  await new Promise((r) => setTimeout(r, AHEAD_MS));
}

/** Cold, but the task comes AHEAD_MS after the commit. */
export async function startAhead(bench: Bench, runs: number): Promise<StartResult> {
  return measure(bench, runs, () => newCommitAhead(bench));
}
