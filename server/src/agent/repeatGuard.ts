// Detects a model stuck repeating itself: the same call again and again (`ls`, `ls`, `ls`) or a
// short cycle of calls (`ls`, `pwd`, `ls`, `pwd`, …), each with the same result as last time. Calls
// whose results differ are progress (a test that now fails differently), so they never count.
// The third round of a cycle earns one warning in the tool result; a call that goes on with the
// cycle after that is not run and stops the task.

export type LoopCheck = { verdict: 'ok' } | { verdict: 'stop'; period: number };
export type LoopRecord = { verdict: 'ok' } | { verdict: 'warn'; period: number; calls: string[] };

/** Cycle lengths looked for: one call repeated, up to four calls repeated in turn. */
export const MAX_PERIOD = 4;
/** Rounds of a cycle that make a loop. */
export const LOOP_ROUNDS = 3;

/** JSON with sorted keys, so {"a":1,"b":2} and {"b":2,"a":1} count as the same call. */
export function canonicalArgs(raw: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  try {
    return JSON.stringify(sort(JSON.parse(raw)));
  } catch {
    return raw.trim();
  }
}

/** A command's run time ("Exit code: 0 (0.1 s)") differs between identical runs; it is not part of the result. */
function comparableResult(ok: boolean, output: string): string {
  return `${ok}\u0000${output.replace(/^([^\n]*?) \(\d+(?:\.\d+)? s\)(?=\n|$)/, '$1')}`;
}

interface Entry {
  call: string;
  result: string;
  label: string;
}

export class RepeatGuard {
  private readonly entries: Entry[] = [];
  private warned = false;

  /** Before a call runs: stop it when it goes on with a loop the model was already warned about. */
  check(name: string, rawArgs: string): LoopCheck {
    if (!this.warned) return { verdict: 'ok' };
    const call = callKey(name, rawArgs);
    const n = this.entries.length;
    for (let p = 1; p <= MAX_PERIOD; p++) {
      if (this.cycleLength(p) >= LOOP_ROUNDS * p && this.entries[n - p]!.call === call) return { verdict: 'stop', period: p };
    }
    return { verdict: 'ok' };
  }

  /** After a call ran: warns (once per run) when its result completes the third round of a cycle. */
  record(name: string, rawArgs: string, ok: boolean, output: string): LoopRecord {
    const args = canonicalArgs(rawArgs);
    const label = `${name} ${args.length > 80 ? `${args.slice(0, 77)}...` : args}`;
    this.entries.push({ call: callKey(name, rawArgs), result: comparableResult(ok, output), label });
    // Only the tail can be part of a cycle still going on.
    if (this.entries.length > 4 * LOOP_ROUNDS * MAX_PERIOD) this.entries.shift();
    if (this.warned) return { verdict: 'ok' };
    for (let p = 1; p <= MAX_PERIOD; p++) {
      if (this.cycleLength(p) >= LOOP_ROUNDS * p) {
        this.warned = true;
        return { verdict: 'warn', period: p, calls: this.entries.slice(-p).map((e) => e.label) };
      }
    }
    return { verdict: 'ok' };
  }

  /** How many of the last entries repeat with period p (the first p of them count as one round). */
  private cycleLength(p: number): number {
    const e = this.entries;
    const n = e.length;
    if (n < p) return 0;
    let run = 0;
    while (n - 1 - run - p >= 0) {
      const a = e[n - 1 - run]!;
      const b = e[n - 1 - run - p]!;
      if (a.call !== b.call || a.result !== b.result) break;
      run++;
    }
    return run + p;
  }
}

function callKey(name: string, rawArgs: string): string {
  return `${name}\u0000${canonicalArgs(rawArgs)}`;
}
