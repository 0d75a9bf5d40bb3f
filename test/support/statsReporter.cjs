// Mocha reporter: the spec reporter's output, plus the run's counts written as JSON to the file
// named by DELEGATE_TEST_STATS so test/run.mjs can add up the tiers.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');
const path = require('node:path');
const { EVENT_RUN_END, EVENT_TEST_FAIL, EVENT_TEST_PASS } = Mocha.Runner.constants;

class StatsReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    // Passes per test file, so test/run.mjs can tell the product's tests from the doubles' own.
    const passedByFile = {};
    runner.on(EVENT_TEST_PASS, (test) => {
      const file = test.file ? path.relative(process.cwd(), test.file) : '';
      passedByFile[file] = (passedByFile[file] || 0) + 1;
    });
    runner.on(EVENT_TEST_FAIL, (test, err) => failures.push({ title: test.fullTitle(), message: String(err && err.message) }));
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.DELEGATE_TEST_STATS;
      if (!file) return;
      const s = runner.stats || {};
      fs.writeFileSync(file, JSON.stringify({ passed: s.passes || 0, failed: s.failures || 0, pending: s.pending || 0, failures, passedByFile }));
    });
  }
}
module.exports = StatsReporter;
