// File change in the sandbox → diff.updated received by a WebSocket client. Each command writes a
// new file, then prints `date +%s%N`; the first diff.updated listing that file closes the sample.
import { type Bench, finish, shell, stampIn, toolResults } from '../bench';
import { nsToMs } from '../clock';
import { summarize, type Summary } from '../stats';

const CHANGES_PER_TASK = 6;

export interface DiffResult {
  diffMs: Summary | null;
}

function steps(task: number) {
  const out = [];
  for (let k = 0; k < CHANGES_PER_TASK; k++) out.push(shell(`mkdir -p diffbench && echo ${task}.${k} > diffbench/t${task}-f${k}.txt && date +%s%N`));
  out.push(finish('Wrote files.'));
  return out;
}

export async function diffLatency(bench: Bench, warmupTasks: number, tasks: number): Promise<DiffResult> {
  const samples: number[] = [];
  for (let t = 0; t < warmupTasks + tasks; t++) {
    const run = await bench.run(steps(t));
    if (t < warmupTasks) continue;
    const results = toolResults(run);
    for (let k = 0; k < CHANGES_PER_TASK; k++) {
      const stamp = results[k] && stampIn(results[k]!.output);
      if (!stamp) throw new Error(`task ${run.id}: command ${k} printed no timestamp: ${JSON.stringify(results[k])}`);
      const path = `diffbench/t${t}-f${k}.txt`;
      const diff = run.events.find((r) => r.event.type === 'diff.updated' && r.event.changedFiles.some((f) => f.path === path));
      if (!diff) throw new Error(`task ${run.id}: no diff.updated listed ${path}`);
      samples.push(diff.at - nsToMs(stamp));
    }
  }
  return { diffMs: summarize(samples) };
}
