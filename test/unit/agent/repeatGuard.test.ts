import assert from 'node:assert/strict';
import { RepeatGuard } from '../../../server/src/agent/repeatGuard';

/** Runs calls through the guard as the loop does: check, then (if not stopped) record the result. */
function drive(guard: RepeatGuard, calls: Array<[name: string, args: string, output: string]>): string[] {
  return calls.map(([name, args, output]) => {
    const check = guard.check(name, args);
    if (check.verdict === 'stop') return `stop/${check.period}`;
    const rec = guard.record(name, args, true, output);
    return rec.verdict === 'warn' ? `warn/${rec.period}` : 'ok';
  });
}

describe('agent loop detection (repeat guard)', () => {
  it('warns on the third identical call with the same result and stops the fourth', () => {
    const ls: [string, string, string] = ['shell', '{"command":"ls"}', 'Exit code: 0 (0.0 s)\na\n'];
    assert.deepEqual(drive(new RepeatGuard(), [ls, ls, ls, ls]), ['ok', 'ok', 'warn/1', 'stop/1']);
  });

  it('finds cycles of two, three and four calls', () => {
    for (const period of [2, 3, 4]) {
      const block = Array.from({ length: period }, (_, i): [string, string, string] => ['shell', `{"command":"c${i}"}`, `out ${i}`]);
      const calls = [...block, ...block, ...block, block[0]!];
      const verdicts = drive(new RepeatGuard(), calls);
      assert.equal(verdicts.at(-2), `warn/${period}`, `period ${period}: ${verdicts.join(',')}`);
      assert.equal(verdicts.at(-1), `stop/${period}`);
      assert.ok(verdicts.slice(0, -2).every((v) => v === 'ok'));
    }
  });

  it('does not count calls whose results differ, but ignores a command\'s run time', () => {
    const guard = new RepeatGuard();
    const grow = (n: number): Array<[string, string, string]> => [['shell', '{"command":"echo x >> f"}', 'Exit code: 0 (0.0 s)\n(no output)'], ['shell', '{"command":"wc -l f"}', `Exit code: 0 (0.0 s)\n${n} f`]];
    assert.ok(drive(guard, [...grow(1), ...grow(2), ...grow(3), ...grow(4)]).every((v) => v === 'ok'));
    const timed = (s: string): [string, string, string] => ['shell', '{"command":"make"}', `Exit code: 2 (${s} s)\nerror`];
    assert.deepEqual(drive(new RepeatGuard(), [timed('0.1'), timed('1.4'), timed('0.3'), timed('0.2')]), ['ok', 'ok', 'warn/1', 'stop/1']);
  });

  it('treats reordered JSON keys as the same call and a different call as a break', () => {
    const a1: [string, string, string] = ['read_file', '{"path":"a","start_line":1}', 'A'];
    const a2: [string, string, string] = ['read_file', '{"start_line":1,"path":"a"}', 'A'];
    const b: [string, string, string] = ['read_file', '{"path":"b"}', 'B'];
    assert.deepEqual(drive(new RepeatGuard(), [a1, a2, b, a2, a1, a1]), ['ok', 'ok', 'ok', 'ok', 'ok', 'warn/1']);
  });

  it('warns once per run: a later loop is stopped without a second warning', () => {
    const x: [string, string, string] = ['shell', '{"command":"x"}', 'X'];
    const y: [string, string, string] = ['shell', '{"command":"y"}', 'Y'];
    assert.deepEqual(drive(new RepeatGuard(), [x, x, x, y, y, y, y]), ['ok', 'ok', 'warn/1', 'ok', 'ok', 'ok', 'stop/1']);
  });
});
