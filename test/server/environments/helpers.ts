// Shared by the environment tests: the cache's entries on disk, a task's setup events.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';

/** Complete entries of the set-up layer cache (temp dirs excluded). */
export function cacheEntries(dataDir: string): string[] {
  const dir = join(dataDir, 'environments');
  return existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')) : [];
}

/** The setup step as a task's events tell it. */
export function setupEvents(events: TaskEvent[]): { started: boolean[]; finished: { cached: boolean; exitCode: number | null }[]; log: string } {
  return {
    started: events.flatMap((e) => (e.type === 'setup.started' ? [e.cached] : [])),
    finished: events.flatMap((e) => (e.type === 'setup.finished' ? [{ cached: e.cached, exitCode: e.exitCode }] : [])),
    log: events.flatMap((e) => (e.type === 'setup.log' ? [e.text] : [])).join('\n'),
  };
}

