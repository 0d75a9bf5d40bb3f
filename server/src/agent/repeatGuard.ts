// Detects a model stuck repeating itself: the same tool call with the same arguments, back to back.
// The third repeat earns one warning in the tool result; a fourth stops the run.

export type RepeatVerdict = 'ok' | 'warn' | 'stop';

export const WARN_AT = 3;
export const STOP_AT = 4;

/** JSON with sorted keys, so {"a":1,"b":2} and {"b":2,"a":1} count as the same call. */
export function canonicalArgs(raw: string): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  try {
    return JSON.stringify(sort(JSON.parse(raw)));
  } catch {
    return raw.trim();
  }
}

export class RepeatGuard {
  private lastKey: string | undefined;
  private count = 0;

  observe(name: string, rawArgs: string): RepeatVerdict {
    const key = `${name}\u0000${canonicalArgs(rawArgs)}`;
    this.count = key === this.lastKey ? this.count + 1 : 1;
    this.lastKey = key;
    if (this.count >= STOP_AT) return 'stop';
    return this.count === WARN_AT ? 'warn' : 'ok';
  }
}
