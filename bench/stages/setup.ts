// Setup once per (commit, environment), environments/: POST sent → first command started, for the
// first task on a commit (the setup script runs: npm installs a small dependency tree, offline, from
// tarballs this stage packs) and for the next tasks on that commit (the set-up layer comes from the
// cache), against tasks on the same 5,000-file repository without an environment. The target: a
// task on a cached layer starts within 50 ms of one without setup.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commitAll } from '../../test/support/gitRepo';
import { Bench, finish, shell, stampIn, toolResults, type TaskRun } from '../bench';
import { nsToMs } from '../clock';
import { summarize, type Summary } from '../stats';
import { newCommit } from './start';

// Asynchronous: a blocked event loop would keep the HTTP client from noticing the server closing
// idle connections, and the next request would go out on a closed one.
const exec = promisify(execFile);

export interface SetupResult {
  /** First task on a new commit: the setup runs (ms, POST → first command). */
  firstMs: Summary | null;
  /** Its setup step alone (setup.finished's ms: sandbox, script, layer written). */
  setupStepMs: Summary | null;
  /** Later tasks on that commit: the layer from the cache. */
  cachedMs: Summary | null;
  /** Tasks on the bench repository, no environment. */
  plainMs: Summary | null;
  /** Median of (cached − plain) over pairs run back to back. */
  overheadMs: number | null;
  packages: number;
}

const STEPS = [shell('date +%s%N; ls node_modules | wc -l'), finish('Started.')];

function startMs(run: TaskRun): number {
  const stamp = stampIn(toolResults(run)[0]?.output ?? '');
  if (!stamp) throw new Error(`task ${run.id}: the first command printed no timestamp`);
  return nsToMs(stamp) - run.sentAt;
}

/** Packs tiny packages (one bundling two others: a small tree) into `vendor/` of `repo`. */
async function vendorPackages(repo: string, work: string): Promise<number> {
  const npm = (cwd: string, ...args: string[]) => exec('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd, env: { ...process.env, npm_config_cache: join(work, 'npm-cache') } });
  const vendor = join(repo, 'vendor');
  mkdirSync(vendor, { recursive: true });
  const leaf = async (name: string): Promise<string> => {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js' }));
    writeFileSync(join(dir, 'index.js'), `module.exports = (x) => '${name}:' + x;\n`);
    writeFileSync(join(dir, 'README.md'), `# ${name}\n`);
    await npm(dir, 'pack', '--pack-destination', work);
    return join(work, `${name}-1.0.0.tgz`);
  };
  const leaves: string[] = [];
  for (const name of ['bench-left-pad', 'bench-is-odd', 'bench-kleur', 'bench-ms', 'bench-deep-a', 'bench-deep-b']) leaves.push(await leaf(name));
  // A package bundling two of them: node_modules/bench-tree/node_modules/… after the install.
  const tree = join(work, 'bench-tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'package.json'), JSON.stringify({ name: 'bench-tree', version: '1.0.0', main: 'index.js', dependencies: { 'bench-deep-a': `file:${leaves[4]}`, 'bench-deep-b': `file:${leaves[5]}` }, bundleDependencies: ['bench-deep-a', 'bench-deep-b'] }));
  writeFileSync(join(tree, 'index.js'), "module.exports = () => [require('bench-deep-a')(1), require('bench-deep-b')(2)];\n");
  await npm(tree, 'install');
  await npm(tree, 'pack', '--pack-destination', vendor);
  for (const tgz of leaves.slice(0, 4)) await exec('cp', [tgz, vendor]);
  return readdirSync(vendor).length + 2;
}

export async function setupStage(bench: Bench, warmup: number, runs: number, firstRuns: number): Promise<SetupResult> {
  const work = join(dirname(bench.repo), 'setup-work');
  const repo = join(dirname(bench.repo), 'setup-repo');
  mkdirSync(work, { recursive: true });
  await exec('git', ['clone', '-q', '--local', bench.repo, repo]);
  const packages = await vendorPackages(repo, work);
  writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
  const environment = { setup: 'npm install --offline --no-audit --no-fund --loglevel=error ./vendor/*.tgz && ls node_modules' };
  mkdirSync(join(repo, '.delegate'), { recursive: true });
  writeFileSync(join(repo, '.delegate', 'environment.json'), JSON.stringify(environment, null, 2));
  commitAll(repo, 'an environment with an npm setup');
  const withSetup = new Bench(bench.model, bench.server, bench.feed, repo, `${bench.label}-setup`);

  const first: number[] = [];
  const setupStep: number[] = [];
  for (let i = 0; i < firstRuns; i++) {
    newCommit(withSetup);
    const task = await withSetup.run(STEPS);
    const finished = task.events.map((r) => r.event).find((e) => e.type === 'setup.finished');
    if (finished?.type !== 'setup.finished' || finished.cached) throw new Error(`task ${task.id}: the setup did not run`);
    first.push(startMs(task));
    setupStep.push(finished.ms);
  }
  // Side by side, a task without setup then one on the cached layer: on a shared machine the load
  // drifts, and each pair sees about the same.
  const plain: number[] = [];
  const cached: number[] = [];
  const paired: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const without = startMs(await bench.run(STEPS));
    const task = await withSetup.run(STEPS);
    const started = task.events.map((r) => r.event).find((e) => e.type === 'setup.started');
    if (started?.type !== 'setup.started' || !started.cached) throw new Error(`task ${task.id}: the setup did not come from the cache`);
    if (!/^\s*5$/m.test(toolResults(task)[0]?.output ?? '')) throw new Error(`task ${task.id}: node_modules is not what the setup installed: ${toolResults(task)[0]?.output}`);
    if (i < warmup) continue;
    plain.push(without);
    cached.push(startMs(task));
    paired.push(startMs(task) - without);
  }
  const plainS = summarize(plain);
  const cachedS = summarize(cached);
  return {
    firstMs: summarize(first),
    setupStepMs: summarize(setupStep),
    cachedMs: cachedS,
    plainMs: plainS,
    overheadMs: summarize(paired)?.median ?? null,
    packages,
  };
}
