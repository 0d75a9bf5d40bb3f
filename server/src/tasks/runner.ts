// Runs one attempt of a task: workspace → sandbox → setup script → agent → final state. Every path
// ends in a finished attempt status with the work so far kept (snapshot) and the sandbox disposed.
import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import type { ChangedFile, Task, Usage } from '../../../protocol';
import type { AgentEvent, AgentHost, AgentOutcome, AgentRunInput } from '../agent/types';
import { DEFAULT_AGENT_LIMITS } from '../agent/types';
import type { Config } from '../config';
import type { Logger } from '../log';
import { DEFAULT_LIMITS, type Sandbox, type SandboxDriver } from '../sandbox/types';
import type { Store, AttemptRecord } from '../store/types';
import type { Workspace } from '../workspace/types';
import type { TaskEvents } from './taskEvents';
import type { Lease } from './scheduler';
import type { WorkspaceCache } from './workspaceCache';

export type RunAgent = (input: AgentRunInput, host: AgentHost) => Promise<AgentOutcome>;

export interface RunnerDeps {
  store: Store;
  events: TaskEvents;
  workspaces: WorkspaceCache;
  driver: SandboxDriver | null;
  driverReason: string | undefined;
  client: OpenAI | null;
  runAgent: RunAgent;
  config: Config;
  log: Logger;
  /** Pending questions by attempt key, answered through TaskService.message. */
  questions: Map<string, { id: string; resolve: (answer: string) => void }>;
  isShuttingDown: () => boolean;
}

export interface AttemptJob {
  taskId: string;
  index: number;
  key: string;
  /** Prompt for this run: the task prompt, or a follow-up's text. */
  prompt: string;
  followup: boolean;
}

/**
 * Snapshots of a burst of changes come at most this often: the records between them only refresh
 * the diff (two git processes instead of four), and one more record snapshots the burst's end. A
 * server that dies meanwhile leaves that work in the view, where the restart finds it.
 */
export const SNAPSHOT_EVERY_MS = 1000;

interface RecordState {
  pending: boolean;
  done: Promise<void> | null;
  /** The agent's file-changing tool calls so far. */
  changes: number;
  /** How many of them the last finished record had seen... */
  recorded: number;
  /** ...and the last snapshot, taken when. */
  snapshotted: number;
  snapshotAt: number;
  /** The deferred snapshot of a burst's end. */
  timer: NodeJS.Timeout | null;
}

export class TaskRunner {
  /** Last snapshot per attempt key: a new one means the diff changed. */
  private readonly snapshots = new Map<string, string>();
  /**
   * Background diff refreshes per attempt key (see scheduleRecord). `changes` counts the agent's
   * file-changing tool calls, `recorded` how many of them the last finished record had seen.
   */
  private readonly records = new Map<string, RecordState>();
  /** Sandboxes of ended attempts still being torn down. */
  private readonly disposing = new Set<Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {}

  async run(job: AttemptJob, signal: AbortSignal, lease?: Lease): Promise<void> {
    const { store, events, log } = this.deps;
    const tlog = log.child({ taskId: job.taskId, attempt: job.index });
    const task = store.getTask(job.taskId);
    if (!task) return;
    let sandbox: Sandbox | undefined;
    let early: Promise<Sandbox> | undefined;
    let workspace: Workspace | undefined;
    const started = Date.now();
    try {
      events.setAttempt(job.taskId, job.index, { status: 'preparing' }, { startedAt: task.startedAt ?? new Date().toISOString() });
      const { driver } = this.deps;
      if (!driver) {
        return this.finish(job, { status: 'failed', error: { code: 'sandbox_unavailable', message: `no sandbox can run here: ${this.deps.driverReason ?? 'unknown reason'}` } });
      }
      if (!this.deps.client) {
        return this.finish(job, { status: 'failed', error: { code: 'model_not_configured', message: 'no model endpoint is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for other OpenAI-compatible servers) for delegate-server' } });
      }
      // The sandbox starts as soon as the view exists, while the user's changes are applied.
      const limits = { ...DEFAULT_AGENT_LIMITS, ...task.options.limits };
      const sandboxFor = (view: { dir: string; gitDir: string }): Promise<Sandbox> => driver.create({ id: job.key, workspaceDir: view.dir, gitDir: view.gitDir, limits: DEFAULT_LIMITS, network: task.options.network === 'on' });
      workspace = await this.deps.workspaces.get(
        job.taskId,
        job.key,
        signal,
        (line) => events.emit(job.taskId, job.index, [{ type: 'setup.log', text: line }]),
        (view) => {
          early = sandboxFor(view);
          early.catch(() => undefined); // awaited below, or disposed in finally
        },
      );
      if (!job.followup) {
        events.updateTask(job.taskId, {
          repo: { ...task.repo, name: workspace.repo.name, commit: workspace.repo.commit, branch: task.repo.branch ?? workspace.repo.branch, remoteUrl: task.repo.remoteUrl ?? workspace.repo.remoteUrl },
          sandbox: driver.name,
        });
      }
      signal.throwIfAborted();
      sandbox = await (early ?? sandboxFor(workspace));
      tlog.info('sandbox ready', { driver: driver.name, mode: workspace.mode, ms: Date.now() - started });
      if (!job.followup) {
        const setupError = await this.runSetup(job, task, workspace, sandbox, signal);
        if (setupError) return this.finish(job, { status: 'failed', error: setupError });
      }
      events.setAttempt(job.taskId, job.index, { status: 'running' });
      const attempt = store.getAttempts(job.taskId).find((a) => a.index === job.index)!;
      // The conversation is kept before every model request, so a run the server did not survive
      // continues from its last complete turn; the agent is told the files may be further along.
      // Without any (stopped before its first request) it starts over from the task prompt.
      const restart = job.followup && attempt.history.length === 0;
      const interrupted = job.followup && attempt.error?.code === 'interrupted';
      const prompt = restart
        ? `${task.prompt}\n\nNote: an earlier run of this task was interrupted; the workspace already contains its changes.\n\n${job.prompt}`
        : interrupted
          ? `Note: the server stopped during your previous run; the workspace may hold changes from steps after the last one shown above. Check the files before relying on them.\n\n${job.prompt}`
          : job.prompt;
      const outcome = await this.deps.runAgent(
        {
          client: this.deps.client,
          model: task.options.model ?? this.deps.config.model,
          wireApi: this.deps.config.wireApi,
          reasoningEffort: task.options.reasoningEffort,
          prompt,
          selection: job.followup && !restart ? undefined : task.selection,
          history: attempt.history,
          limits,
          sandbox,
          workspace,
          signal,
          usageSoFar: attempt.usage,
        },
        this.host(job, workspace, lease),
      );
      const changedFiles = await this.finalRecord(job, workspace);
      const status = outcome.status === 'cancelled' && this.deps.isShuttingDown() ? 'interrupted' : outcome.status;
      this.finish(job, {
        status,
        summary: outcome.summary,
        testResult: outcome.testResult,
        error: status === 'interrupted' ? interruptedError() : outcome.error,
        history: outcome.history,
        usage: outcome.usage,
        changedFiles,
      });
    } catch (err) {
      const aborted = signal.aborted;
      await this.settleRecords(job.key);
      const changedFiles = workspace ? await this.recordWork(job, workspace, 'stopped').catch(() => undefined) : undefined;
      if (aborted) {
        this.finish(job, this.deps.isShuttingDown() ? { status: 'interrupted', error: interruptedError(), changedFiles } : { status: 'cancelled', changedFiles });
      } else {
        tlog.error('attempt failed', { err: err as Error });
        this.finish(job, { status: 'failed', error: { code: codeOf(err), message: (err as Error).message ?? String(err) }, changedFiles });
      }
    } finally {
      this.deps.questions.delete(job.key);
      this.snapshots.delete(job.key);
      this.dropRecords(job.key);
      sandbox ??= await early?.catch(() => undefined);
      // Torn down after the run gives its slot back (killing the sandbox and removing its cgroup
      // takes ~10 ms): the next task need not wait for it. close() waits for all of them.
      if (sandbox) {
        const disposed: Promise<void> = sandbox
          .dispose()
          .catch((err: unknown) => tlog.warn('sandbox dispose failed', { err: err as Error }))
          .finally(() => this.disposing.delete(disposed));
        this.disposing.add(disposed);
      }
      tlog.info('attempt ended', { ms: Date.now() - started });
    }
  }

  /** Waits until every ended attempt's sandbox is gone (server shutdown). */
  async drain(): Promise<void> {
    while (this.disposing.size > 0) await Promise.all([...this.disposing]);
  }

  private finish(job: AttemptJob, patch: Partial<AttemptRecord>): void {
    const current = this.deps.store.getAttempts(job.taskId).find((a) => a.index === job.index);
    if (!current) return;
    const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<AttemptRecord>;
    const finishedPatch: Partial<AttemptRecord> = { ...clean };
    if (patch.status !== 'failed' && patch.status !== 'interrupted') finishedPatch.error = undefined;
    this.deps.events.setAttempt(job.taskId, job.index, finishedPatch, { finishedAt: new Date().toISOString(), question: undefined });
  }

  private recordState(key: string) {
    let state = this.records.get(key);
    // Like the later ones, the first snapshot comes a second after the first change at the
    // earliest (until then the work is in the view, where a restart finds it): a task shorter
    // than that takes one snapshot, at its end.
    if (!state) this.records.set(key, (state = { pending: false, done: null, changes: 0, recorded: 0, snapshotted: 0, snapshotAt: Date.now(), timer: null }));
    return state;
  }

  /**
   * Run recordWork in the background, one at a time per attempt; requests that arrive while one
   * runs fold into a single follow-up run, so a burst of edits costs at most two refreshes.
   */
  private scheduleRecord(job: AttemptJob, workspace: Workspace, why: 'change' | 'snapshot' = 'change'): void {
    const state = this.recordState(job.key);
    if (why === 'change') state.changes++;
    if (state.done) {
      state.pending = true;
      return;
    }
    state.done = (async () => {
      do {
        state.pending = false;
        const seen = state.changes;
        // A newer change already waiting, or a snapshot less than SNAPSHOT_EVERY_MS old: this
        // record only updates the diff.
        const defer = (): boolean => state.pending || Date.now() - state.snapshotAt < SNAPSHOT_EVERY_MS;
        await this.recordWork(job, workspace, 'after tool call', defer, (snapshot) => {
          state.recorded = seen;
          if (snapshot === null) return;
          state.snapshotted = seen;
          state.snapshotAt = Date.now();
        }).catch((err: unknown) => this.deps.log.warn('could not refresh the diff', { taskId: job.taskId, err: err as Error }));
      } while (state.pending);
      state.done = null;
      if (state.snapshotted < state.recorded && !state.timer && this.records.get(job.key) === state) {
        state.timer = setTimeout(() => {
          state.timer = null;
          if (this.records.get(job.key) === state) this.scheduleRecord(job, workspace, 'snapshot');
        }, Math.max(0, state.snapshotAt + SNAPSHOT_EVERY_MS - Date.now()));
      }
    })();
  }

  private dropRecords(key: string): void {
    const state = this.records.get(key);
    if (state?.timer) clearTimeout(state.timer);
    this.records.delete(key);
  }

  private async settleRecords(key: string): Promise<void> {
    await this.records.get(key)?.done;
  }

  /**
   * The attempt's final diff and snapshot. When a background record already saw the agent's last
   * change, its result stands: the sandbox is idle, so the files cannot have moved since.
   */
  private async finalRecord(job: AttemptJob, workspace: Workspace): Promise<ChangedFile[]> {
    await this.settleRecords(job.key);
    const state = this.records.get(job.key);
    const current = this.deps.store.getAttempts(job.taskId).find((a) => a.index === job.index);
    if (state?.timer) clearTimeout(state.timer);
    if (state && state.changes > 0 && state.snapshotted === state.changes && current) return current.changedFiles;
    return this.recordWork(job, workspace, 'final state');
  }

  /**
   * Snapshot the work and refresh the changed files; emits diff.updated when they changed. Also
   * used after a restart for attempts that were interrupted.
   */
  async recordWork(
    job: Pick<AttemptJob, 'taskId' | 'index' | 'key'>,
    workspace: Workspace,
    why: string,
    skipSnapshot?: () => boolean,
    onRecorded?: (snapshot: string | null) => void,
  ): Promise<ChangedFile[]> {
    let filesDiffer = false;
    // Clients hear of the new files first; the snapshot (which keeps the work safe) follows.
    const { changedFiles, snapshot } = await workspace.record(why, {
      skipSnapshot,
      onChanges: (files) => {
        const previous = this.deps.store.getAttempts(job.taskId).find((a) => a.index === job.index)?.changedFiles ?? [];
        filesDiffer = JSON.stringify(previous) !== JSON.stringify(files);
        if (filesDiffer) this.deps.events.setAttempt(job.taskId, job.index, { changedFiles: files }, {}, [{ type: 'diff.updated', changedFiles: files }]);
      },
    });
    onRecorded?.(snapshot);
    if (snapshot === null) return changedFiles;
    // The snapshot id changes with any content change, even one that keeps the line counts.
    const previousSnapshot = this.snapshots.get(job.key);
    this.snapshots.set(job.key, snapshot);
    if (!filesDiffer && previousSnapshot !== undefined && snapshot !== previousSnapshot) {
      this.deps.events.setAttempt(job.taskId, job.index, {}, {}, [{ type: 'diff.updated', changedFiles }]);
    }
    return changedFiles;
  }

  private async runSetup(job: AttemptJob, task: Task, workspace: Workspace, sandbox: Sandbox, signal: AbortSignal) {
    const { events } = this.deps;
    let script = task.options.setupScript;
    if (!script && (await workspace.files.exists('.delegate/setup.sh'))) script = 'sh .delegate/setup.sh';
    if (!script) return undefined;
    const network = (task.options.network ?? 'off') !== 'off';
    events.emit(job.taskId, job.index, [{ type: 'setup.log', text: `$ setup (${network ? 'network on' : 'network off'})` }]);
    const emitLine = (chunk: string) => events.emit(job.taskId, job.index, [{ type: 'setup.log', text: chunk.slice(0, 8192) }]);
    const result = await sandbox.exec(script, { network, signal, timeoutMs: 10 * 60_000, onStdout: emitLine, onStderr: emitLine });
    signal.throwIfAborted();
    if (result.sandboxError) return { code: 'setup_failed', message: `the setup script could not run: ${result.sandboxError}` };
    if (result.exitCode !== 0) {
      return { code: 'setup_failed', message: `the setup script ${result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`}: ${(result.stderr || result.stdout).slice(-2000)}` };
    }
    await this.recordWork(job, workspace, 'setup');
    return undefined;
  }

  private host(job: AttemptJob, workspace: Workspace, lease: Lease | undefined): AgentHost {
    const { store, events, questions } = this.deps;
    return {
      emit: (event: AgentEvent) => events.emit(job.taskId, job.index, [event]),
      takeUserMessages: () => store.takeMessages(job.key, 'steer').map((m) => m.text),
      // Before pausing for the user, finish the pending diff refresh: what they review while the
      // agent waits is then its current work. While it waits its slot goes to the next task; the
      // answer takes a slot again (status queued until one is free).
      ask: (question, signal) =>
        this.settleRecords(job.key).then(() => new Promise<string>((resolve, reject) => {
          const id = randomUUID();
          const onAbort = () => {
            questions.delete(job.key);
            reject(signal.reason ?? new DOMException('aborted', 'AbortError'));
          };
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          questions.set(job.key, {
            id,
            resolve: (answer) => {
              questions.delete(job.key);
              const resumed = () => {
                signal.removeEventListener('abort', onAbort);
                events.setAttempt(job.taskId, job.index, { status: 'running' }, { question: undefined });
                resolve(answer);
              };
              if (!lease) return resumed();
              void lease
                .resume(() => events.setAttempt(job.taskId, job.index, { status: 'queued' }, { question: undefined }))
                .then(() => (signal.aborted ? undefined : resumed()));
            },
          });
          events.setAttempt(job.taskId, job.index, { status: 'waiting_for_input' }, { question: { id: `${job.index}:${id}`, text: question } });
          lease?.park();
        })),
      onUsage: (usage: Usage) => {
        events.setAttempt(job.taskId, job.index, { usage });
      },
      // Stored, not published: clients never see the raw conversation.
      onHistory: (history) => {
        store.updateAttempt(job.taskId, job.index, { history });
      },
      // Off the agent's critical path: the next model request goes out while the diff is
      // refreshed and snapshotted (measured: ~300 ms per tool call saved on a 5,000-file repo).
      onFilesChanged: async () => {
        this.scheduleRecord(job, workspace);
      },
    };
  }
}

export function interruptedError() {
  return { code: 'interrupted', message: 'The server stopped while this task ran. Its work so far is kept; send a follow-up to continue.' };
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[a-z_]+$/.test(code) ? code : 'internal';
}
