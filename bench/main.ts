// `npm run bench`: the real server (bundled from the current sources), the real sandbox and the
// real openai SDK against a zero-latency scripted model on loopback. Prints a Markdown table and
// writes bench/results.json. See bench/README.md for what each figure means.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDockerd, type TestDockerd } from '../test/support/dockerd';
import { startFakeModel, type FakeModel } from '../test/support/fakeModel';
import { makeLargeRepo } from '../test/support/gitRepo';
import { Bench } from './bench';
import { buildServer, extensionBundleSize, readActivation } from './build';
import { loadAverage, sleep } from './clock';
import { EventFeed } from './feed';
import { renderTable, type Row } from './report';
import { startBenchServer, type BenchServer } from './server';
import { concurrent } from './stages/concurrent';
import { diffLatency } from './stages/diff';
import { fourStep } from './stages/fourStep';
import { plainFourStep } from './stages/plainFourStep';
import { setupStage } from './stages/setup';
import { fleetStage } from './stages/fleet';
import { AHEAD_MS, startAhead, startCold, startWarm } from './stages/start';

const STAGES = ['start', 'plain', 'task', 'diff', 'setup', 'concurrent', 'docker', 'fleet', 'extension'] as const;
type Stage = (typeof STAGES)[number];

interface Plan {
  stages: Set<Stage>;
  warmup: number;
  runs: number;
  dockerRuns: number;
  coldRuns: number;
  diffTasks: number;
  concurrency: number;
  warmupBurst: number;
  bursts: number;
  /** Files in the generated repository (--files=N; default 5,000). */
  files: number;
  /** Flags for every server the stages start (--server-arg=F, repeatable). */
  serverArgs: string[];
}

function parsePlan(argv: string[]): Plan {
  const quick = argv.includes('--quick');
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const stages = new Set<Stage>((only ?? STAGES) as Stage[]);
  for (const s of stages) if (!STAGES.includes(s)) throw new Error(`unknown stage ${s}; stages: ${STAGES.join(', ')}`);
  if (argv.includes('--no-docker')) stages.delete('docker');
  const files = Number(argv.find((a) => a.startsWith('--files='))?.slice('--files='.length) ?? 5000);
  if (!Number.isInteger(files) || files < 10) throw new Error('--files=N: a whole number of files, at least 10');
  const serverArgs = argv.filter((a) => a.startsWith('--server-arg=')).map((a) => a.slice('--server-arg='.length));
  return quick
    ? { stages, files, serverArgs, warmup: 1, runs: 3, dockerRuns: 3, coldRuns: 1, diffTasks: 1, concurrency: 5, warmupBurst: 2, bursts: 1 }
    : { stages, files, serverArgs, warmup: 2, runs: 12, dockerRuns: 8, coldRuns: 5, diffTasks: 4, concurrency: 20, warmupBurst: 5, bursts: 3 };
}

/** What the "new commit 1 s before" rows saw: the layer that prepares it ahead, unless switched off. */
function aheadNote(plan: Plan): string {
  return plan.serverArgs.includes('--no-prepare-ahead') ? 'not prepared ahead (--no-prepare-ahead)' : 'prepared ahead meanwhile (--no-prepare-ahead: not)';
}

/** A server + event client + bench context for one block of stages; always torn down. */
async function withServer<T>(
  model: FakeModel,
  repo: string,
  bundle: string,
  opts: { sandbox: 'bwrap' | 'docker'; maxParallel?: number; env?: Record<string, string>; args: string[]; label: string },
  fn: (bench: Bench) => Promise<T>,
): Promise<T> {
  const server: BenchServer = await startBenchServer({ bundle, modelBaseUrl: model.baseUrl, sandbox: opts.sandbox, maxParallel: opts.maxParallel, env: opts.env, args: opts.args });
  let feed: EventFeed | undefined;
  try {
    feed = await EventFeed.open(server);
    return await fn(new Bench(model, server, feed, repo, opts.label));
  } finally {
    feed?.close();
    await server.stop();
  }
}

function log(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

/** --max-load=N: wait (up to 30 min) for the 1-minute load average to fall below N first. */
async function waitForQuiet(argv: string[]): Promise<void> {
  const limit = Number(argv.find((a) => a.startsWith('--max-load='))?.slice('--max-load='.length));
  if (!Number.isFinite(limit)) return;
  const deadline = Date.now() + 30 * 60_000;
  while (loadAverage()[0] >= limit && Date.now() < deadline) {
    log(`load average ${loadAverage()[0]} ≥ ${limit}: waiting`);
    await sleep(30_000);
  }
}

export async function main(argv: string[]): Promise<number> {
  const plan = parsePlan(argv);
  await waitForQuiet(argv);
  const loadBefore = loadAverage();
  log(`load average ${loadBefore.join(' ')} on ${cpus().length} cores${loadBefore[0] > 3 ? ' — the machine is busy: these numbers will be slow and noisy' : ''}`);
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  const started = Date.now();

  log('building the server bundle');
  const bundle = await buildServer();
  const work = mkdtempSync(join(tmpdir(), 'delegate-bench-'));
  const model = await startFakeModel();
  let dockerd: TestDockerd | undefined;
  try {
    const repo = join(work, 'repo');
    const needsRepo = [...plan.stages].some((s) => s !== 'extension');
    if (needsRepo) {
      log(`generating a ${plan.files.toLocaleString('en')}-file repository`);
      makeLargeRepo(repo, plan.files);
    }
    const sequential = (['start', 'plain', 'task', 'diff', 'setup'] as Stage[]).filter((s) => plan.stages.has(s));
    if (sequential.length) {
      await withServer(model, repo, bundle, { sandbox: 'bwrap', args: plan.serverArgs, label: 'bwrap' }, async (bench) => {
        if (plan.stages.has('start')) {
          log(`bwrap: start, cold (${plan.coldRuns} new commits)`);
          const cold = await startCold(bench, plan.coldRuns);
          log(`bwrap: start, a new commit ${AHEAD_MS} ms before each task (${plan.coldRuns})`);
          const ahead = await startAhead(bench, plan.coldRuns);
          log(`bwrap: start, warm (${plan.warmup} + ${plan.runs})`);
          const warm = await startWarm(bench, plan.warmup, plan.runs);
          results['start.bwrap'] = { warm, cold, ahead };
          rows.push({ figure: 'task accepted → first command started', driver: 'bwrap', unit: 'ms', s: warm.startMs, target: 100 });
          rows.push({ figure: '  … first task of a new commit (cold)', driver: 'bwrap', unit: 'ms', s: cold.startMs, target: plan.files > 5000 ? 400 : 120 });
          rows.push({ figure: `  … a new commit ${AHEAD_MS / 1000} s before the task`, driver: 'bwrap', unit: 'ms', s: ahead.startMs, note: aheadNote(plan) });
        }
        if (plan.stages.has('plain')) {
          log(`bwrap: plain 4-step task, cold (${plan.coldRuns} new commits) and warm (${plan.warmup} + ${plan.runs})`);
          const r = await plainFourStep(bench, plan.warmup, plan.runs, plan.coldRuns);
          results['plain.bwrap'] = r;
          rows.push({ figure: 'plain 4-step task (ls, printf, cat, finish)', driver: 'bwrap', unit: 'ms', s: r.warm, note: `${r.cpuPerWarmMs} ms of CPU each (server and its processes)` });
          rows.push({ figure: '  … of it, first model request → completed', driver: 'bwrap', unit: 'ms', s: r.agentWarm, note: 'the agent\'s own run: no workspace or sandbox to set up' });
          rows.push({ figure: '  … first task of a new commit (cold)', driver: 'bwrap', unit: 'ms', s: r.cold, target: plan.files > 5000 ? 500 : 150, note: `${r.cpuPerColdMs} ms of CPU each (median)` });
          rows.push({ figure: `  … a new commit ${AHEAD_MS / 1000} s before the task`, driver: 'bwrap', unit: 'ms', s: r.ahead, note: aheadNote(plan) });
        }
        if (plan.stages.has('task')) {
          log(`bwrap: 4-step task (${plan.warmup} + ${plan.runs})`);
          const r = await fourStep(bench, plan.warmup, plan.runs);
          results['task.bwrap'] = r;
          rows.push({ figure: '4-step task, submit → completed with diff', driver: 'bwrap', unit: 'ms', s: r.taskMs, target: 250 });
          rows.push({ figure: 'harness gap per tool call', driver: 'bwrap', unit: 'ms', s: r.gapMs, target: 40 });
          for (const [tool, s] of Object.entries(r.gapByTool)) rows.push({ figure: `  … after ${tool}`, driver: 'bwrap', unit: 'ms', s });
        }
        if (plan.stages.has('diff')) {
          log(`bwrap: diff latency (1 + ${plan.diffTasks} tasks × 6 changes)`);
          const r = await diffLatency(bench, 1, plan.diffTasks);
          results['diff.bwrap'] = r;
          rows.push({ figure: 'file change → diff event on WebSocket', driver: 'bwrap', unit: 'ms', s: r.diffMs, target: 150, targetOn: 'p95' });
        }
        if (plan.stages.has('setup')) {
          log(`bwrap: environment setup (${plan.coldRuns} first tasks, ${plan.warmup} + ${plan.runs} from the cache and without setup)`);
          const r = await setupStage(bench, plan.warmup, plan.runs, plan.coldRuns);
          results['setup.bwrap'] = r;
          rows.push({ figure: `task with an npm setup (${r.packages} packages): first, setup runs`, driver: 'bwrap', unit: 'ms', s: r.firstMs });
          rows.push({ figure: '  … its setup step (script + layer)', driver: 'bwrap', unit: 'ms', s: r.setupStepMs });
          rows.push({ figure: '  … next tasks, set-up layer from the cache', driver: 'bwrap', unit: 'ms', s: r.cachedMs, note: `${r.overheadMs ?? '?'} ms over no setup (target ≤ 50)` });
          rows.push({ figure: '  … the same without an environment', driver: 'bwrap', unit: 'ms', s: r.plainMs });
        }
      });
    }
    if (plan.stages.has('concurrent')) {
      log(`bwrap: ${plan.concurrency} concurrent tasks (warm-up burst of ${plan.warmupBurst}, then ${plan.bursts} bursts; --max-parallel ${plan.concurrency})`);
      const r = await withServer(model, repo, bundle, { sandbox: 'bwrap', maxParallel: plan.concurrency, args: plan.serverArgs, label: 'conc' }, (bench) => concurrent(bench, plan.concurrency, plan.warmupBurst, plan.bursts));
      results['concurrent.bwrap'] = r;
      const n = plan.concurrency;
      rows.push({ figure: `${n} concurrent 4-step tasks: wall time`, driver: 'bwrap', unit: 'ms', s: r.wallMs, note: r.allCompleted ? 'all completed' : 'NOT all completed' });
      rows.push({ figure: `${n} concurrent: p95 task time`, driver: 'bwrap', unit: 'ms', s: r.taskP95Ms });
      rows.push({ figure: `${n} concurrent: server peak RSS`, driver: 'bwrap', unit: 'MB', s: r.peakRssMb, note: `idle ${r.idleRssMb} MB` });
      rows.push({ figure: `${n} concurrent: RSS per running task`, driver: 'bwrap', unit: 'MB', s: r.perTaskMb, target: 15 });
    }
    if (plan.stages.has('docker')) {
      log('docker: starting a private dockerd');
      try {
        dockerd = await startDockerd();
      } catch (err) {
        results['docker'] = { skipped: `startDockerd() failed: ${(err as Error).message.split('\n')[0]}` };
        log(`docker: skipped (${(results['docker'] as { skipped: string }).skipped})`);
      }
      if (dockerd) {
        const env = { DOCKER_HOST: `unix://${dockerd.socket}` };
        await withServer(model, repo, bundle, { sandbox: 'docker', env, args: plan.serverArgs, label: 'docker' }, async (bench) => {
          log(`docker: start, warm (${plan.warmup} + ${plan.dockerRuns})`);
          const warm = await startWarm(bench, plan.warmup, plan.dockerRuns);
          log(`docker: 4-step task (${plan.warmup} + ${plan.dockerRuns})`);
          const task = await fourStep(bench, plan.warmup, plan.dockerRuns);
          results['start.docker'] = { warm };
          results['task.docker'] = task;
          rows.push({ figure: 'task accepted → first command started', driver: 'docker', unit: 'ms', s: warm.startMs, target: 100 });
          rows.push({ figure: '4-step task, submit → completed with diff', driver: 'docker', unit: 'ms', s: task.taskMs, target: 250 });
          rows.push({ figure: 'harness gap per tool call', driver: 'docker', unit: 'ms', s: task.gapMs, target: 40 });
        });
      }
    }
    if (plan.stages.has('fleet')) {
      const fleetPlan = { runs: plan.runs + plan.warmup * 4, batch: plan.concurrency };
      try {
        const r = await fleetStage(bundle, model, repo, fleetPlan, log);
        results['fleet'] = r;
        rows.push({ figure: 'fleet: queued → preparing on an idle node', driver: 'bwrap', unit: 'ms', s: r.pickupMs, target: 100 });
        rows.push({ figure: 'fleet: event on one node → WebSocket client of another', driver: 'bwrap', unit: 'ms', s: r.crossNodeEventMs, target: 50, targetOn: 'p95' });
        for (const t of r.throughput) rows.push({ figure: `fleet: ${t.tasks} 3-step tasks, ${t.nodes} node(s) × 2 slots`, driver: 'bwrap', unit: '', value: `${t.perMinute} tasks/min`, note: `${t.wallMs} ms wall${t.allCompleted ? '' : ', NOT all completed'}` });
      } catch (err) {
        results['fleet'] = { skipped: (err as Error).message.split('\n')[0] };
        log(`fleet: skipped (${(results['fleet'] as { skipped: string }).skipped})`);
      }
    }
    if (plan.stages.has('extension')) {
      log('extension: production bundle');
      const size = await extensionBundleSize();
      const activation = readActivation();
      results['extension'] = { bundle: size, activation };
      rows.push({ figure: 'extension bundle (production, minified)', driver: '', unit: 'KB', value: `${(size.bytes / 1024).toFixed(0)} KB (${(size.gzipBytes / 1024).toFixed(0)} KB gzip)` });
      rows.push({ figure: 'extension activation', driver: 'VS Code', unit: '', value: activation.measured ? describeActivation(activation.data) : 'not measured', note: activation.measured ? undefined : 'no test-output/vscode/activation.json' });
    }
  } finally {
    await model.close();
    await dockerd?.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const loadAfter = loadAverage();
  const report = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadBefore, loadAfter },
    plan: { ...plan, stages: [...plan.stages] },
    durationS: Math.round((Date.now() - started) / 1000),
    results,
  };
  writeFileSync(join(__dirname, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(renderTable(rows, { loadBefore, loadAfter, cores: cpus().length, durationS: report.durationS, files: plan.files, serverArgs: plan.serverArgs }));
  return 0;
}

/** `{loadMs, activateMs, vscode}` from test-output/vscode/activation.json, as one line. */
function describeActivation(data: unknown): string {
  const a = data as { loadMs?: unknown; activateMs?: unknown; vscode?: unknown };
  if (typeof a?.loadMs !== 'number' || typeof a.activateMs !== 'number') return `unreadable: ${JSON.stringify(data).slice(0, 80)}`;
  return `load ${Math.round(a.loadMs)} ms + activate() ${Math.round(a.activateMs)} ms (VS Code ${typeof a.vscode === 'string' ? a.vscode : '?'})`;
}
