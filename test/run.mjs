// Runs the three test tiers with one runner (mocha) and ends with one summary line:
//   unit    — plain Node, fast (test/unit)
//   server  — real processes, sockets, git, sandbox (test/server)
//   web     — the web interface in Chromium against the real server (test/web)
//   vscode  — the extension inside a real VS Code (code-server + Chromium; test/vscode)
// Usage: node test/run.mjs [unit|server|web|vscode ...] [-- mocha args]
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const names = (dash >= 0 ? argv.slice(0, dash) : argv).filter(Boolean);
const tiers = names.length ? names : ['unit', 'server', 'web', 'vscode'];
// Everything the tests put in the temp dir (repositories, data dirs, workspaces) goes into one
// directory per run, removed at the end: a shared machine must not fill up with them. The sandbox
// user binds test workspaces from there, so it must be able to pass through.
const runTmp = mkdtempSync(join(tmpdir(), 'delegate-run-'));
chmodSync(runTmp, 0o755);
const statsDir = mkdtempSync(join(runTmp, 'stats-'));
const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const reporter = join(root, 'test', 'support', 'statsReporter.cjs');

const commands = {
  unit: [process.execPath, [mocha, '--require', 'tsx/cjs', '--reporter', reporter, '--timeout', '10000', '--recursive', '--extension', 'ts', 'test/unit', ...extra]],
  server: [process.execPath, [mocha, '--require', 'tsx/cjs', '--require', 'test/support/failureLogs.ts', '--reporter', reporter, '--timeout', '60000', '--slow', '2000', '--exit', '--recursive', '--extension', 'ts', 'test/server', ...extra]],
  web: [process.execPath, [mocha, '--require', 'tsx/cjs', '--require', 'test/support/failureLogs.ts', '--reporter', reporter, '--timeout', '120000', '--slow', '5000', '--exit', '--recursive', '--extension', 'ts', '--ignore', 'test/web/fixture.ts', 'test/web', ...extra]],
  vscode: [process.execPath, ['--require', 'tsx/cjs', 'test/vscode/runner.ts', ...extra]],
};

function run(tier) {
  const [cmd, args] = commands[tier];
  const statsFile = join(statsDir, `${tier}.json`);
  console.log(`\n=== ${tier} tests ===`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, TMPDIR: runTmp, DELEGATE_TEST_STATS: statsFile } });
    child.on('exit', (code, signal) => {
      let stats = { passed: 0, failed: 0, pending: 0, failures: [] };
      if (existsSync(statsFile)) stats = JSON.parse(readFileSync(statsFile, 'utf8'));
      // A tier that died without reporting (crash, build error) counts as one failure.
      if (code !== 0 && stats.failed === 0) stats.failed = 1, stats.failures.push({ title: `${tier} tier`, message: `exited with ${code ?? signal}` });
      resolve({ tier, ...stats });
    });
  });
}

let passed = 0, failed = 0, pending = 0;
const failures = [];
// These files test only the test doubles (the scripted model, the GitHub REST double): they keep
// the doubles honest but say nothing about the product, so they are counted apart.
const DOUBLES_TESTS = new Set(['test/server/agent/fakeModel.test.ts', 'test/server/github/fakeGitHub.test.ts']);
let doublesPassed = 0;
// The server and VS Code tiers run the bundles (server/dist, dist), not the sources: build them
// first, or they would test whatever the last build left there.
if (tiers.some((t) => t !== 'unit')) {
  console.log('=== build ===');
  const built = await new Promise((resolve) => spawn(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'inherit' }).on('exit', (code) => resolve(code === 0)));
  if (!built) {
    console.log('\n0 passed, 1 failed\n\nFailures:\n  build: node esbuild.mjs failed');
    rmSync(runTmp, { recursive: true, force: true });
    process.exit(1);
  }
}
for (const tier of tiers) {
  if (!commands[tier]) { console.error(`unknown tier ${tier}`); rmSync(runTmp, { recursive: true, force: true }); process.exit(2); }
  const r = await run(tier);
  console.log(`--- ${tier}: ${r.passed} passed, ${r.failed} failed${r.pending ? `, ${r.pending} pending` : ''}`);
  passed += r.passed; failed += r.failed; pending += r.pending;
  for (const [file, n] of Object.entries(r.passedByFile ?? {})) if (DOUBLES_TESTS.has(file)) doublesPassed += n;
  failures.push(...r.failures.map((f) => `[${tier}] ${f.title}: ${f.message}`));
}
// A mount a test left behind would be emptied through, not removed: then the directory stays.
const leftMounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${runTmp}/`));
if (leftMounted.length) console.log(`\nleft ${runTmp} in place: still mounted there: ${leftMounted.join(', ')}`);
else rmSync(runTmp, { recursive: true, force: true });
if (failures.length) console.log('\nFailures:\n' + failures.map((f) => '  ' + f).join('\n'));
console.log(`\n${passed} passed (of which ${doublesPassed} test the test doubles: ${[...DOUBLES_TESTS].join(', ')}); ${passed - doublesPassed} test the product`);
console.log(`${passed} passed, ${failed} failed${pending ? `, ${pending} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
