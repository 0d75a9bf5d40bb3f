// Work the workspace manager starts beside the tasks, off every task's path: rolling up a mirror's
// packs (mirrorTidy.ts), flattening a deep stack of base layers (bases.ts flattenBase) and
// preparing a user's new commit before its first task (ahead.ts). One job of each kind at a time
// per mirror or repository; idle() waits for what was started (a clean stop, tests).
import type { Logger } from '../log';
import { flattenBase } from './bases';
import type { Host } from './git';
import { tidyMirror } from './mirrorTidy';

export interface UpkeepDeps {
  host: Host;
  dataDir: string;
  sandboxUid: number;
  log: Logger;
  /** Runs `fn` under the manager's bases lock. */
  underBasesLock: <T>(fn: () => Promise<T>) => Promise<T>;
  /** false: deep stacks are not flattened (WorkspaceManagerOptions.flattenBases). */
  flatten: boolean;
}

export class Upkeep {
  private readonly jobs = new Map<string, Promise<void>>();
  /** Jobs asked for again while they ran (ahead). */
  private readonly again = new Set<string>();
  /** Aborted by stop(): the git processes of the jobs still running are killed. */
  private readonly stopping = new AbortController();

  constructor(private readonly deps: UpkeepDeps) {}

  /** Rolls up a mirror's packs when there are many. */
  tidy(mirrorDir: string): void {
    this.start(`tidy:${mirrorDir}`, async () => {
      try {
        if (await tidyMirror(this.deps.host, mirrorDir, { signal: this.stopping.signal })) this.deps.log.info('mirror repacked', { mirrorDir });
      } catch (err) {
        if (!this.stopping.signal.aborted) this.deps.log.warn('repacking a mirror failed', { mirrorDir, err: err as Error });
      }
    });
  }

  /**
   * Checks out in full a commit whose base is a deep stack, for the next new commits to stack on.
   * `copied`: the commit is still being copied into the mirror the checkout reads.
   */
  flatten(mirrorDir: string, commit: string, copied: Promise<void> | undefined): void {
    if (!this.deps.flatten) return;
    this.start(`flatten:${mirrorDir}`, async () => {
      const started = Date.now();
      try {
        await copied;
        const { host, dataDir, sandboxUid: uid } = this.deps;
        const signal = this.stopping.signal;
        if (await flattenBase({ host, dataDir, gitDir: mirrorDir, mirrorDir, commit, uid, signal }, this.deps.underBasesLock)) {
          this.deps.log.info('base flattened', { commit, ms: Date.now() - started });
        }
      } catch (err) {
        // Stopped: its git was killed and what it had written removed (flattenBase).
        if (!this.stopping.signal.aborted) this.deps.log.warn('flattening a base failed', { commit, err: err as Error });
      }
    });
  }

  /**
   * Prepares the new HEAD of the user's repository at `top` (`prepare`: the manager's
   * prepareAhead; false when there was nothing to do). Asked again while it runs, it runs once
   * more after: HEAD may have moved on.
   */
  ahead(top: string, prepare: (signal: AbortSignal) => Promise<boolean>): void {
    const key = `ahead:${top}`;
    if (this.jobs.has(key)) {
      this.again.add(key);
      return;
    }
    this.start(key, async () => {
      do {
        this.again.delete(key);
        const started = Date.now();
        try {
          if (await prepare(this.stopping.signal)) this.deps.log.info('new commit prepared ahead of its task', { top, ms: Date.now() - started });
        } catch (err) {
          if (!this.stopping.signal.aborted) this.deps.log.warn('preparing a new commit ahead failed', { top, err: err as Error });
        }
      } while (this.again.has(key) && !this.stopping.signal.aborted);
    });
  }

  /** Resolves once no job runs (those started while it waits included). */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs.values()]);
  }

  /** Kills what still runs and waits for it to end; nothing starts after. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  /** Starts `job` unless one of the same key still runs (or it has stopped). */
  private start(key: string, job: () => Promise<void>): void {
    if (this.jobs.has(key) || this.stopping.signal.aborted) return;
    this.jobs.set(key, job().finally(() => this.jobs.delete(key)));
  }
}
