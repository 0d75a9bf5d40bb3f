// Entry point VS Code calls inside the extension host (`extensionTestsPath`): runs every
// `*.test.js` bundled next to this file with mocha's BDD UI, prints spec-like lines with
// console.log (the extension host forwards those to the workbench page, where the runner reads
// them), writes the counts to DELEGATE_TEST_RESULTS and rejects when a test failed, so the
// workbench exits with a non-zero code.
import Mocha from 'mocha';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  failures: { title: string; message: string }[];
  /** Full titles of the tests that passed, for the runner's report. */
  passedTitles: string[];
}

/** Marks the suite's own lines so the runner can tell them from other console output. */
export const LINE_PREFIX = '[delegate-suite] ';

export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    // Real server, real sandbox and a real workbench: seconds per step are normal here.
    timeout: 120_000,
    slow: 10_000,
    color: false,
    reporter: ConsoleSpecReporter,
  });
  const grep = process.env.DELEGATE_TEST_GREP;
  if (grep) mocha.grep(grep);

  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort();
  for (const f of files) mocha.addFile(join(__dirname, f));

  const results = await new Promise<SuiteResults>((resolve) => {
    const failures: SuiteResults['failures'] = [];
    const passedTitles: string[] = [];
    const runner = mocha.run(() => {
      const s = runner.stats;
      resolve({ passed: s?.passes ?? 0, failed: s?.failures ?? 0, pending: s?.pending ?? 0, failures, passedTitles });
    });
    runner.on('pass', (test) => passedTitles.push(test.fullTitle()));
    runner.on('fail', (test, err: Error) => failures.push({ title: test.fullTitle(), message: String(err?.message ?? err) }));
  });
  if (files.length === 0) {
    results.failed += 1;
    results.failures.push({ title: 'vscode suite', message: `no *.test.js files in ${__dirname}` });
  }
  const out = process.env.DELEGATE_TEST_RESULTS;
  if (out) writeFileSync(out, JSON.stringify(results));
  if (results.failed > 0) throw new Error(`${results.failed} of ${results.passed + results.failed} tests failed`);
}

/**
 * The spec reporter's shape, but every line through console.log: process.stdout of the extension
 * host is not shown anywhere the runner can read, its console is forwarded to the page.
 */
class ConsoleSpecReporter extends Mocha.reporters.Base {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const say = (depth: number, text: string): void => console.log(LINE_PREFIX + '  '.repeat(depth) + text);
    const failed: { title: string; err: Error }[] = [];
    let depth = 0;
    runner.on('suite', (suite) => {
      if (suite.title) say(depth, suite.title);
      depth += 1;
    });
    runner.on('suite end', () => {
      depth -= 1;
    });
    runner.on('pass', (test) => say(depth, `✓ ${test.title} (${test.duration ?? 0} ms)`));
    runner.on('pending', (test) => say(depth, `- ${test.title} (pending)`));
    runner.on('fail', (test, err: Error) => {
      failed.push({ title: test.fullTitle(), err });
      say(depth, `${failed.length}) ${test.title}`);
    });
    runner.once('end', () => {
      const s = runner.stats;
      say(0, `${s?.passes ?? 0} passing, ${s?.failures ?? 0} failing, ${s?.pending ?? 0} pending`);
      failed.forEach(({ title, err }, i) => {
        say(0, `${i + 1}) ${title}:`);
        for (const line of String(err?.stack ?? err).split('\n')) say(2, line);
      });
    });
  }
}
