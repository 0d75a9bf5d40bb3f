// Runs one attempt of a task: workspace → sandbox → setup script → agent → final state. Every path
// ends in a finished attempt status with the work so far kept (snapshot) and the sandbox disposed.
// The diff recorder keeps the work visible and safe while the agent runs; questions go through the
// questions service, which the task service answers.
import type OpenAI from 'openai';
import type { TaskError, TaskErrorCode, Usage } from '../../../protocol';
import { TaskErrorCode as TaskErrorCodes } from '../../../protocol';
import { continuationPrompt } from '../agent/prompt';
import type { AgentEvent, AgentHost, AgentOutcome, AgentRunInput } from '../agent/types';
import { DEFAULT_AGENT_LIMITS } from '../agent/types';
import type { Config } from '../config';
import type { Logger } from '../log';
import { DEFAULT_LIMITS, type Sandbox, type SandboxDriver } from '../sandbox/types';
import type { Store, AttemptRecord } from '../store/types';
import type { Workspace } from '../workspace/types';
import type { AttemptEnvironment, Environments } from '../environments/service';
import type { DiffRecorder } from './diffRecorder';
import type { AttemptRef, Questions } from './questions';
import type { TaskEvents } from './taskEvents';
import type { Lease } from './scheduler';
import type { WorkspaceCache } from './workspaceCache';
import { WriteChain } from './writeChain';

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
  questions: Questions;
  recorder: DiffRecorder;
  /** The task's environment: its image, its setup (cached as a layer under the view). */
  environments: Environments;
  isShuttingDown: () => boolean;
  /**
   * A fleet node's say before a stopped run is recorded as cancelled or interrupted: true when the
   * fleet gives the attempt back to the queue instead (fleet/fleet.ts handOver). Absent: one node.
   */
  handOver?: (job: AttemptJob, patch: Partial<AttemptRecord>) => Promise<boolean>;
}

export interface AttemptJob extends AttemptRef {
  /** Prompt for this run: the task prompt, or a follow-up's text. */
  prompt: string;
  followup: boolean;
  /** Taken over in the middle of a run (a fleet node died or left): goes on as an interrupted attempt does. */
  resumed?: boolean;
}

export class TaskRunner {
  /** Sandboxes of ended attempts still being torn down. */
  private readonly disposing = new Set<Promise<void>>();

  constructor(private readonly deps: RunnerDeps) {}

  async run(job: AttemptJob, signal: AbortSignal, lease?: Lease): Promise<void> {
    const { store, events, log, recorder } = this.deps;
    const tlog = log.child({ taskId: job.taskId, attempt: job.index });
    const task = await store.getTask(job.taskId);
    if (!task) return;
    const writes = new WriteChain();
    let sandbox: Sandbox | undefined;
    let early: Promise<Sandbox> | undefined;
    let workspace: Workspace | undefined;
    let environment: AttemptEnvironment | undefined;
    const started = Date.now();
    try {
      await events.setAttempt(job.taskId, job.index, { status: 'preparing' }, { startedAt: task.startedAt ?? new Date().toISOString(), node: this.deps.config.nodeId }, [], undefined, job.guard);
      const { driver } = this.deps;
      if (!driver) {
        return await this.finish(job, { status: 'failed', error: { code: 'sandbox_unavailable', message: `no sandbox can run here: ${this.deps.driverReason ?? 'unknown reason'}` } });
      }
      if (!this.deps.client) {
        return await this.finish(job, { status: 'failed', error: { code: 'model_not_configured', message: 'no model endpoint is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for other OpenAI-compatible servers) for delegate-server' } });
      }
      // The sandbox starts as soon as the view exists, while the user's changes are applied.
      const limits = { ...DEFAULT_AGENT_LIMITS, ...task.options.limits };
      const env = (environment = this.deps.environments.begin(job.key, task.options, (event) => writes.add(() => events.emit(job.taskId, job.index, [event], job.guard))));
      const sandboxFor = (view: { dir: string; gitDir: string }): Promise<Sandbox> => driver.create({ id: job.key, workspaceDir: view.dir, gitDir: view.gitDir, limits: DEFAULT_LIMITS, network: task.options.network === 'on', image: env.image() });
      workspace = await this.deps.workspaces.get(
        job.taskId,
        job.key,
        signal,
        (line) => writes.add(() => events.emit(job.taskId, job.index, [{ type: 'setup.log', text: line }], job.guard)),
        (view) => {
          early = sandboxFor(view);
          early.catch(() => undefined); // awaited below, or disposed in finally
        },
      );
      await writes.flush();
      const envError = await env.ready(workspace);
      if (envError && !job.followup) return await this.finish(job, { status: 'failed', error: envError });
      if (!job.followup) {
        await events.updateTask(job.taskId, {
          repo: { ...task.repo, name: workspace.repo.name, commit: workspace.repo.commit, branch: task.repo.branch ?? workspace.repo.branch, remoteUrl: task.repo.remoteUrl ?? workspace.repo.remoteUrl },
          sandbox: driver.name,
        }, undefined, job.guard);
      }
      signal.throwIfAborted();
      sandbox = await (early ?? sandboxFor(workspace));
      tlog.info('sandbox ready', { driver: driver.name, mode: workspace.mode, ms: Date.now() - started });
      if (!job.followup) {
        const setupError = await this.runSetup(job, env, workspace, signal);
        await writes.flush();
        if (setupError) return await this.finish(job, { status: 'failed', error: setupError });
      }
      await events.setAttempt(job.taskId, job.index, { status: 'running' }, {}, [], undefined, job.guard);
      const attempt = (await store.getAttempts(job.taskId)).find((a) => a.index === job.index)!;
      // The conversation is kept before every model request, so a run the server did not survive
      // continues from its last complete turn; the agent is told the files may be further along.
      // Without any (stopped before its first request) it starts over from the task prompt.
      const restart = job.followup && attempt.history.length === 0;
      const interrupted = job.followup && (attempt.error?.code === 'interrupted' || job.resumed === true);
      const prompt = restart ? continuationPrompt('restart', task.prompt, job.prompt) : interrupted ? continuationPrompt('interrupted', task.prompt, job.prompt) : job.prompt;
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
          network: task.options.network === 'on',
          sandbox,
          workspace,
          signal,
          usageSoFar: attempt.usage,
        },
        this.host(job, workspace, lease, writes),
      );
      await writes.flush();
      const changedFiles = await recorder.final(job, workspace);
      const status = outcome.status === 'cancelled' && this.deps.isShuttingDown() ? 'interrupted' : outcome.status;
      await this.finish(job, {
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
      await writes.settled();
      await recorder.settle(job.key);
      const changedFiles = workspace ? await recorder.stopped(job, workspace).catch(() => undefined) : undefined;
      if (aborted) {
        await this.finish(job, this.deps.isShuttingDown() ? { status: 'interrupted', error: interruptedError(), changedFiles } : { status: 'cancelled', changedFiles });
      } else {
        tlog.error('attempt failed', { err: err as Error });
        await this.finish(job, { status: 'failed', error: { code: codeOf(err), message: (err as Error).message ?? String(err) }, changedFiles });
      }
    } finally {
      environment?.end();
      this.deps.questions.drop(job.key);
      recorder.drop(job.key);
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

  private async finish(job: AttemptJob, patch: Partial<AttemptRecord>): Promise<void> {
    if ((patch.status === 'cancelled' || patch.status === 'interrupted') && (await this.deps.handOver?.(job, patch))) return;
    const current = (await this.deps.store.getAttempts(job.taskId)).find((a) => a.index === job.index);
    if (!current) return;
    const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<AttemptRecord>;
    const finishedPatch: Partial<AttemptRecord> = { ...clean };
    if (patch.status !== 'failed' && patch.status !== 'interrupted') finishedPatch.error = undefined;
    await this.deps.events.setAttempt(job.taskId, job.index, finishedPatch, { finishedAt: new Date().toISOString(), question: undefined }, [], undefined, job.guard);
  }

  /** The setup that is not in a set-up layer under the view (a plain checkout): over the task's own view. */
  private async runSetup(job: AttemptJob, environment: AttemptEnvironment, workspace: Workspace, signal: AbortSignal): Promise<TaskError | undefined> {
    const { ran, error } = await environment.setup(workspace, signal);
    if (ran && !error) await this.deps.recorder.record(job, workspace, 'setup');
    return error;
  }

  /** The agent's writes go through `writes`, in the order it makes them (see WriteChain). */
  private host(job: AttemptJob, workspace: Workspace, lease: Lease | undefined, writes: WriteChain): AgentHost {
    const { store, events, questions, recorder } = this.deps;
    const causes = new CauseTracker();
    return {
      emit: (event: AgentEvent) => {
        writes.add(async () => {
          const [stored] = await events.emit(job.taskId, job.index, [causes.link(event)], job.guard);
          if (stored) causes.stored(stored.type, stored.seq, 'callId' in stored ? stored.callId : undefined);
        });
      },
      takeUserMessages: async () => (await store.takeMessages(job.key, 'steer')).map((m) => m.text),
      // Before pausing for the user, finish the pending diff refresh: what they review while the
      // agent waits is then its current work. While it waits its slot goes to the next task.
      ask: (question, signal) =>
        writes
          .settled()
          .then(() => recorder.settle(job.key))
          .then(() => questions.ask(job, question, signal, lease, causes.question())),
      onUsage: (usage: Usage) => {
        writes.add(() => events.setAttempt(job.taskId, job.index, { usage }, {}, [], undefined, job.guard));
      },
      // Stored, not published: clients never see the raw conversation.
      onHistory: (history) => {
        writes.add(() => store.updateAttempt(job.taskId, job.index, { history }, job.guard));
      },
      // Off the agent's critical path: the next model request goes out while the diff is
      // refreshed and snapshotted (measured: ~300 ms per tool call saved on a 5,000-file repo).
      // After the call's own events are stored: the diff links to the call.
      // A turn's end (its last file-changing call) makes a checkpoint, recorded at once; it is
      // one only if it read the view before the next turn's first change began.
      onFilesChanged: async (turnEnds) => {
        await writes.settled();
        recorder.changed(job, workspace, causes.lastCall(), turnEnds);
      },
      beforeChanges: () => recorder.beforeChanges(job.key),
    };
  }
}

/**
 * Which event caused which, within one run: a tool's output, result, question or warning comes
 * from its call; the agent's finish from its finish call; a diff update from the call that changed
 * the files; the question's pause (task.status) from the question.
 */
class CauseTracker {
  private readonly calls = new Map<string, number>();
  /** The tool call running now (tools run one at a time) and the last one that ran. */
  private open: number | undefined;
  private last: number | undefined;
  private asked: number | undefined;

  link(event: AgentEvent): AgentEvent {
    if (event.cause !== undefined) return event;
    const cause =
      'callId' in event && event.type !== 'tool.call'
        ? (this.calls.get(event.callId) ?? this.open)
        : event.type === 'question' || event.type === 'warning'
          ? this.open
          : event.type === 'agent.finished'
            ? this.last
            : undefined;
    return cause === undefined ? event : { ...event, cause };
  }

  stored(type: AgentEvent['type'], seq: number, callId: string | undefined): void {
    if (type === 'tool.call' && callId !== undefined) {
      this.calls.set(callId, seq);
      this.open = this.last = seq;
    } else if (type === 'tool.result') {
      this.open = undefined;
    } else if (type === 'question') {
      this.asked = seq;
    }
  }

  lastCall(): number | undefined {
    return this.last;
  }

  question(): number | undefined {
    return this.asked;
  }
}

export function interruptedError(): TaskError {
  return { code: 'interrupted', message: 'The server stopped while this task ran. Its work so far is kept; send a follow-up to continue.' };
}

/** A thrown error's code when it is one of the task codes (a workspace's repo_error); else internal. */
function codeOf(err: unknown): TaskErrorCode {
  const parsed = TaskErrorCodes.safeParse((err as { code?: unknown })?.code);
  return parsed.success ? parsed.data : 'internal';
}
