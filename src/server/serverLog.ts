// The local server's output as log lines of their real level: it writes JSON lines (time, level,
// msg, fields) on stderr, which would otherwise all land in the Output channel as [warning].
// Pure (no `vscode`); other output (npx, a crash trace) keeps the level of its stream.

export type ServerLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ServerLogLine {
  level: ServerLogLevel;
  text: string;
}

const LEVELS: Record<string, ServerLogLevel> = { trace: 'debug', debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', fatal: 'error' };

export function parseServerLine(line: string, stream: 'stdout' | 'stderr'): ServerLogLine {
  if (line.startsWith('{')) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      const level = typeof record.level === 'string' ? LEVELS[record.level] : undefined;
      if (level && typeof record.msg === 'string') {
        const { time: _time, level: _level, msg, ...fields } = record;
        return { level, text: Object.keys(fields).length ? `${msg} ${JSON.stringify(fields)}` : (msg) };
      }
    } catch {
      // Not a whole JSON line: shown as it came.
    }
  }
  return { level: stream === 'stderr' ? 'warn' : 'info', text: line };
}

/** Splits a stream's chunks into whole lines (a chunk may end in the middle of one). */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    return lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim());
  }

  flush(): string[] {
    const last = this.rest.trim() ? [this.rest] : [];
    this.rest = '';
    return last;
  }
}
