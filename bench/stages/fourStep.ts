// A 4-step task (list files, write a file, run a command, finish): submit → completed with its
// diff; and the harness gap per tool call, seen from the model's side: reply sent → next request
// arrived, minus the tool's own durationMs from its tool.result event.
import { type Bench, finish, shell, toolResults, type TaskRun } from '../bench';
import { summarize, type Summary } from '../stats';

export interface FourStepResult {
  /** POST sent → `completed` status (with changed files) received on the WebSocket (ms). */
  taskMs: Summary | null;
  /** Harness gap per tool call, all tools (ms). */
  gapMs: Summary | null;
  /** The same, per tool. */
  gapByTool: Record<string, Summary | null>;
  /** The tools' own durationMs, per tool. */
  toolMs: Record<string, Summary | null>;
}

export function fourSteps(n: number) {
  const patch = `*** Begin Patch\n*** Add File: notes/bench-${n}.md\n+# Notes ${n}\n+\n+Written by the benchmark.\n*** End Patch`;
  return [
    { toolCalls: [{ name: 'list_files', arguments: {} }] },
    { toolCalls: [{ name: 'apply_patch', arguments: { patch } }] },
    shell(`wc -l notes/bench-${n}.md && git status --short | head -5`),
    finish('Added the notes.'),
  ];
}

export function checkFourStep(run: TaskRun): void {
  if (run.final.task.changedFiles.length === 0) throw new Error(`task ${run.id} completed without a diff`);
  const failed = toolResults(run).filter((r) => !r.ok);
  if (failed.length) throw new Error(`task ${run.id}: a tool failed: ${JSON.stringify(failed[0])}`);
}

/** Gaps of one run: one per tool call that the model answered after. */
export function gapsOf(run: TaskRun): Array<{ tool: string; gap: number; duration: number }> {
  const results = toolResults(run);
  const out: Array<{ tool: string; gap: number; duration: number }> = [];
  for (let k = 0; k + 1 < run.turns.length; k++) {
    const result = results[k];
    const [reply, next] = [run.turns[k], run.turns[k + 1]];
    if (!result || !reply || !next) continue;
    out.push({ tool: result.name, gap: next.requestAt - reply.replyEndAt - result.durationMs, duration: result.durationMs });
  }
  return out;
}

export async function fourStep(bench: Bench, warmup: number, runs: number): Promise<FourStepResult> {
  for (let i = 0; i < warmup; i++) checkFourStep(await bench.run(fourSteps(i)));
  const totals: number[] = [];
  const gaps: number[] = [];
  const byTool: Record<string, number[]> = {};
  const durations: Record<string, number[]> = {};
  for (let i = 0; i < runs; i++) {
    const run = await bench.run(fourSteps(warmup + i));
    checkFourStep(run);
    totals.push(run.finishedAt - run.sentAt);
    for (const g of gapsOf(run)) {
      gaps.push(g.gap);
      (byTool[g.tool] ??= []).push(g.gap);
      (durations[g.tool] ??= []).push(g.duration);
    }
  }
  const map = (m: Record<string, number[]>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarize(v)]));
  return { taskMs: summarize(totals), gapMs: summarize(gaps), gapByTool: map(byTool), toolMs: map(durations) };
}
