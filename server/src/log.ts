// JSON lines on stderr, one object per line, with secrets scrubbed before anything is written.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Remembers secret values (API keys, tokens) and removes them from any text. */
export class Scrubber {
  private readonly secrets = new Set<string>();
  add(secret: string | undefined): void {
    if (secret && secret.length >= 6) this.secrets.add(secret);
  }
  remove(secret: string): void {
    this.secrets.delete(secret);
  }
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    // Credentials that were never registered but look like ones.
    return out
      .replace(/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{16,}/gi, '$1 [redacted]')
      .replace(/\b(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '[redacted]')
      .replace(/(https?:\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1[redacted]@');
  }
}

export function createLogger(options: {
  level?: LogLevel;
  scrubber: Scrubber;
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const make = (bound: Record<string, unknown>): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[level] < min) return;
      const record = { time: new Date().toISOString(), level, msg, ...bound, ...fields };
      let line: string;
      try {
        line = JSON.stringify(record, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message } : v));
      } catch {
        line = JSON.stringify({ time: record.time, level, msg, note: 'unserializable fields' });
      }
      write(options.scrubber.scrub(line));
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...bound, ...f }),
    };
  };
  return make(options.fields ?? {});
}
