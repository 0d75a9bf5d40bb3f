// The server's one logger shape (`Logger`: JSON lines on stderr, one object per line) and its one
// secret scrubber, applied before anything is written. Every part that logs takes a `Logger`.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const REDACTED = '[redacted]';

/**
 * The one secret scrubber: remembers secret values (API keys, tokens and the encoded forms they
 * travel in) and removes them, and anything that looks like a credential, from any text before it
 * is logged, stored or returned.
 */
export class Scrubber {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | undefined): void {
    // Shorter strings would match innocent text everywhere; no real token is that short.
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }
  remove(secret: string): void {
    this.secrets.delete(secret);
  }
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    // Credentials that were never registered but look like ones.
    return out
      .replace(/(authorization:\s*(?:basic|bearer|token)\s+)\S+/gi, `$1${REDACTED}`)
      .replace(/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{16,}/gi, `$1 ${REDACTED}`)
      .replace(/\b(sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, REDACTED)
      .replace(/(https?:\/\/)[^/@\s:]+:[^/@\s]+@/g, `$1${REDACTED}@`);
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

/** A logger that drops everything (a library call nobody asked to log). */
export const NO_LOG: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => NO_LOG,
};

/** The same logger with more secrets removed from messages and fields (a token held for one request). */
export function scrubbing(log: Logger, scrubber: Scrubber): Logger {
  const clean = (fields: Record<string, unknown> | undefined) => {
    if (!fields) return undefined;
    try {
      return JSON.parse(scrubber.scrub(JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v)))) as Record<string, unknown>;
    } catch {
      return { note: 'unserializable fields' };
    }
  };
  return {
    debug: (m, f) => log.debug(scrubber.scrub(m), clean(f)),
    info: (m, f) => log.info(scrubber.scrub(m), clean(f)),
    warn: (m, f) => log.warn(scrubber.scrub(m), clean(f)),
    error: (m, f) => log.error(scrubber.scrub(m), clean(f)),
    child: (f) => scrubbing(log.child(clean(f) ?? {}), scrubber),
  };
}

/** A Logger over a plain sink (a test that collects what was logged); `child` fields are merged in. */
export function loggerFrom(sink: (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void, bound: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => sink(level, msg, { ...bound, ...fields });
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error'), child: (f) => loggerFrom(sink, { ...bound, ...f }) };
}
