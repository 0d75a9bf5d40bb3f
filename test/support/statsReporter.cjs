// Mocha reporter: the spec reporter's output, plus the run's counts written as JSON to the file
// named by DELEGATE_TEST_STATS so test/run.mjs can add up the tiers.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

class StatsReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const failures = [];
    runner.on(EVENT_TEST_FAIL, (test, err) => failures.push({ title: test.fullTitle(), message: String(err && err.message) }));
    runner.once(EVENT_RUN_END, () => {
      const file = process.env.DELEGATE_TEST_STATS;
      if (!file) return;
      const s = runner.stats || {};
      fs.writeFileSync(file, JSON.stringify({ passed: s.passes || 0, failed: s.failures || 0, pending: s.pending || 0, failures }));
    });
  }
}
module.exports = StatsReporter;
