// The plain 4-step task: `ls -la`, a file written with printf, `cat` of it, finish — the four
// scripted steps of the side-by-side comparison with Codex CLI. Figure = POST sent → `completed`
// (with the new file in its diff) received. Warm: the commit already has its base tree; cold: a
// new commit before each task, as every commit a user makes is new.
import { type Bench, finish, shell, toolResults, type TaskRun } from '../bench';
import { treeCpuMs } from '../cpu';
import { summarize, type Summary } from '../stats';
import { newCommit, newCommitAhead } from './start';

export interface PlainResult {
  warm: Summary | null;
  cold: Summary | null;
  /** CPU time of the server's process tree per warm task (ms; one figure over all of them). */
  cpuPerWarmMs: number;
  /** The same per cold task, median (its new commit copied, its base layer built, the user's status). */
  cpuPerColdMs: number;
  /** A new commit AHEAD_MS before each task (start.ts): prepared ahead by the server meanwhile. */
  ahead: Summary | null;
  /**
   * Of each warm task, the first model request → `completed`: the agent's own run (four turns,
   * three commands, the record of the file), without the workspace and the sandbox set up before
   * it. An agent that runs in the user's checkout, as a CLI does, has only this part.
   */
  agentWarm: Summary | null;
}

function plainSteps(n: number) {
  return [shell('ls -la'), shell(`printf 'plain %s\\n' ${n} > plain-${n}.txt`), shell(`cat plain-${n}.txt`), finish('Wrote the file.')];
}

function check(run: TaskRun, n: number): void {
  if (!run.final.task.changedFiles.some((f) => f.path === `plain-${n}.txt`)) throw new Error(`task ${run.id} completed without plain-${n}.txt in its diff`);
  const failed = toolResults(run).filter((r) => !r.ok);
  if (failed.length) throw new Error(`task ${run.id}: a tool failed: ${JSON.stringify(failed[0])}`);
}

async function timed(bench: Bench, n: number, agent?: number[]): Promise<number> {
  const run = await bench.run(plainSteps(n));
  check(run, n);
  agent?.push(run.finishedAt - run.turns[0]!.requestAt);
  return run.finishedAt - run.sentAt;
}

export async function plainFourStep(bench: Bench, warmup: number, runs: number, coldRuns: number): Promise<PlainResult> {
  let n = 0;
  const cold: number[] = [];
  const coldCpu: number[] = [];
  for (let i = 0; i < coldRuns; i++) {
    newCommit(bench);
    const before = treeCpuMs(bench.server.pid);
    cold.push(await timed(bench, n++));
    coldCpu.push(treeCpuMs(bench.server.pid) - before);
  }
  const ahead: number[] = [];
  for (let i = 0; i < coldRuns; i++) {
    await newCommitAhead(bench);
    ahead.push(await timed(bench, n++));
  }
  // The median: every MAX_LAYERS-th new commit gets a full checkout (bases.ts), which would swamp a mean.
  const cpuPerColdMs = Math.round(summarize(coldCpu)?.median ?? 0);
  for (let i = 0; i < warmup; i++) await timed(bench, n++);
  const warm: number[] = [];
  const agent: number[] = [];
  const cpuBefore = treeCpuMs(bench.server.pid);
  for (let i = 0; i < runs; i++) warm.push(await timed(bench, n++, agent));
  const cpuPerWarmMs = Math.round((treeCpuMs(bench.server.pid) - cpuBefore) / runs);
  return { warm: summarize(warm), cold: summarize(cold), cpuPerWarmMs, cpuPerColdMs, ahead: summarize(ahead), agentWarm: summarize(agent) };
}
