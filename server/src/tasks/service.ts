// What the API can do with tasks. Owns the transitions (create, message, cancel, delete, select)
// and hands attempts to the scheduler; the runner does the work.
import { randomUUID } from 'node:crypto';
import { EMPTY_USAGE, isFinished, type CreateTaskRequest, type RepoInfo, type Task } from '../../../protocol';
import { checkpointPrompt } from '../agent/prompt';
import type { Logger } from '../log';
import type { AttemptRecord, Store } from '../store/types';
import { KeyedLock } from '../workspace/keyedLock';
import type { Checkpoint, Workspace } from '../workspace/types';
import { HttpError } from '../api/http';
import type { FleetDispatch } from '../fleet/fleet';
import type { Scheduler } from './scheduler';
import type { DiffRecorder } from './diffRecorder';
import type { Questions } from './questions';
import { interruptedError, type AttemptJob, type TaskRunner } from './runner';
import { attemptKey } from './state';
import type { TaskEvents } from './taskEvents';
import type { WorkspaceCache } from './workspaceCache';

export interface TaskServiceDeps {
  store: Store;
  events: TaskEvents;
  scheduler: Scheduler;
  runner: TaskRunner;
  workspaces: WorkspaceCache;
  questions: Questions;
  recorder: DiffRecorder;
  log: Logger;
  /** A fleet node (PostgreSQL): attempts wait in the database's queue, not in `scheduler`'s. */
  fleet?: FleetDispatch;
}

export class TaskService {
  /** One message of a task at a time: two follow-ups (or a restore and a follow-up) must not race. */
  private readonly messages = new KeyedLock();

  constructor(private readonly deps: TaskServiceDeps) {}

  /** `owner`: the creating user's GitHub login, null for the admin. */
  async create(body: CreateTaskRequest, owner: string | null = null): Promise<Task> {
    const id = randomUUID();
    const now = new Date().toISOString();
    const attempts = body.options?.attempts ?? 1;
    const task: Task = {
      id,
      status: 'queued',
      prompt: body.prompt,
      repo: repoInfo(body.repo),
      ...(body.selection ? { selection: body.selection } : {}),
      options: body.options ?? {},
      createdAt: now,
      updatedAt: now,
      usage: EMPTY_USAGE,
      changedFiles: [],
      owner,
    };
    const records: AttemptRecord[] = Array.from({ length: attempts }, (_, index) => ({
      taskId: id,
      index,
      status: 'queued',
      workspaceKey: attemptKey(id, index, attempts),
      history: [],
      usage: EMPTY_USAGE,
      changedFiles: [],
    }));
    if (attempts > 1) {
      task.attempts = records.map((r) => ({ index: r.index, status: r.status, changedFiles: [], usage: EMPTY_USAGE }));
    }
    await this.deps.events.publishCreated(task, records, body.repo);
    for (const r of records) await this.schedule({ taskId: id, index: r.index, key: r.workspaceKey, prompt: body.prompt, followup: false });
    this.deps.log.info('task created', { taskId: id, attempts, repo: task.repo.kind });
    return (await this.deps.store.getTask(id))!;
  }

  async get(id: string): Promise<Task> {
    const task = await this.deps.store.getTask(id);
    if (!task) throw new HttpError('not_found', `no task ${id}`);
    return task;
  }

  async list(): Promise<Task[]> {
    return (await this.deps.store.listTasks()).reverse();
  }

  /**
   * Steer a running task, answer its question, or follow up a finished one; `fromCheckpoint`: the
   * follow-up starts from that checkpoint (the workspace is set back to it first). `actor`: who asks.
   */
  message(id: string, text: string, options: { fromCheckpoint?: string; actor?: string | null } = {}): Promise<{ kind: 'steer' | 'answer' | 'followup'; task: Task }> {
    return this.messages.run(id, () => this.receive(id, text, options));
  }

  private async receive(id: string, text: string, options: { fromCheckpoint?: string; actor?: string | null }): Promise<{ kind: 'steer' | 'answer' | 'followup'; task: Task }> {
    const task = await this.get(id);
    const { fromCheckpoint } = options;
    if (fromCheckpoint !== undefined && !isFinished(task.status)) throw new HttpError('conflict', `task ${id} is ${task.status}: a checkpoint can only start a follow-up`);
    const attempts = await this.deps.store.getAttempts(id);
    const { events, store } = this.deps;
    if (task.status === 'waiting_for_input') {
      const { fleet } = this.deps;
      // In a fleet the waiting attempt may be another node's: the fleet hands the answer over.
      const waiting = attempts.filter((a) => (fleet ? a.status === 'waiting_for_input' : this.deps.questions.isWaiting(a.workspaceKey)));
      const [answer] = await events.emit(id, 0, [{ type: 'user.message', kind: 'answer', text }]);
      for (const a of waiting) {
        if (fleet) await fleet.answer(a, text, answer?.seq);
        else this.deps.questions.answer(a.workspaceKey, text, answer?.seq);
      }
      return { kind: 'answer', task: await this.get(id) };
    }
    if (!isFinished(task.status)) {
      for (const a of attempts) if (!isFinished(a.status)) await store.addMessage(a.workspaceKey, 'steer', text);
      await events.emit(id, 0, [{ type: 'user.message', kind: 'steer', text }]);
      return { kind: 'steer', task: await this.get(id) };
    }
    // Follow-up: continue the selected attempt in its workspace and conversation.
    const index = task.selectedAttempt ?? 0;
    const attempt = attempts.find((a) => a.index === index);
    if (!attempt) throw new HttpError('conflict', `task ${id} has no attempt ${index}`);
    // Stored with the prompt, the note reaches whichever node runs the follow-up (or a restart).
    let prompt = text;
    if (fromCheckpoint !== undefined) {
      await this.restore(task, attempt, fromCheckpoint, options.actor ?? null);
      prompt = checkpointPrompt(text);
    }
    await store.addMessage(attempt.workspaceKey, 'followup', prompt);
    await events.setAttempt(id, index, { status: 'queued' }, { finishedAt: undefined }, [{ type: 'user.message', kind: 'followup', text }], 'last event');
    await this.schedule({ taskId: id, index, key: attempt.workspaceKey, prompt, followup: true });
    return { kind: 'followup', task: await this.get(id) };
  }

  /** `actor`: who asks (a login, null for the admin), recorded on the cancelled status event. */
  async cancel(id: string, actor: string | null = null): Promise<Task> {
    const task = await this.get(id);
    if (isFinished(task.status)) throw new HttpError('conflict', `task ${id} is already ${task.status}`);
    // The request is an event of its own: the cancelled status names it as its cause.
    const [request] = await this.deps.events.emit(id, 0, [{ type: 'task.cancel_requested', actor }]);
    this.deps.events.noteCanceller(id, actor, request?.seq);
    if (this.deps.fleet) {
      await this.deps.fleet.cancel(id, await this.deps.store.getAttempts(id), actor);
      return this.get(id);
    }
    for (const a of await this.deps.store.getAttempts(id)) {
      const r = this.deps.scheduler.cancel(a.workspaceKey);
      if (r === 'removed') await this.deps.events.setAttempt(id, a.index, { status: 'cancelled' }, { finishedAt: new Date().toISOString() });
    }
    for (const a of await this.deps.store.getAttempts(id)) await this.deps.scheduler.settled(a.workspaceKey);
    return this.get(id);
  }

  async remove(id: string, actor: string | null = null): Promise<void> {
    const task = await this.get(id);
    if (!isFinished(task.status)) await this.cancel(id, actor);
    for (const a of await this.deps.store.getAttempts(id)) {
      this.deps.recorder.forget(a.workspaceKey);
      await this.deps.workspaces.destroy(a.workspaceKey).catch(() => undefined);
    }
    await this.deps.events.publishDeleted(id, actor);
  }

  async selectAttempt(id: string, attempt: number): Promise<Task> {
    const task = await this.get(id);
    const attempts = await this.deps.store.getAttempts(id);
    const chosen = attempts.find((a) => a.index === attempt);
    if (!chosen) throw new HttpError('not_found', `task ${id} has no attempt ${attempt}`);
    if (!isFinished(chosen.status)) throw new HttpError('conflict', `attempt ${attempt} is still ${chosen.status}`);
    return this.deps.events.setAttempt(task.id, attempt, {}, { selectedAttempt: attempt });
  }

  /** The workspace of the selected attempt, for diffs and file versions. */
  async workspace(id: string): Promise<Workspace> {
    const task = await this.get(id);
    const attempts = await this.deps.store.getAttempts(id);
    const a = attempts.find((x) => x.index === (task.selectedAttempt ?? 0)) ?? attempts[0];
    const ws = a ? await this.deps.workspaces.find(a.workspaceKey) : null;
    if (!ws) throw new HttpError('conflict', `task ${id} has no workspace yet (status ${task.status})`);
    return ws;
  }

  /** The selected attempt's checkpoint `version` (a diffVersion), for diffs and file versions. */
  async checkpoint(id: string, version: string): Promise<Checkpoint> {
    const found = await (await this.workspace(id)).checkpoint(version);
    if (!found) throw this.noCheckpoint(await this.get(id), version);
    return found;
  }

  /** Sets the attempt's workspace back to a checkpoint (under its index lock) and says so. */
  private async restore(task: Task, attempt: AttemptRecord, version: string, actor: string | null): Promise<void> {
    const workspace = await this.deps.workspaces.get(task.id, attempt.workspaceKey);
    const restored = await workspace.restoreCheckpoint(version);
    if (!restored) throw this.noCheckpoint(task, version);
    const ref = { taskId: task.id, index: attempt.index, key: attempt.workspaceKey, fence: attempt.fence };
    await this.deps.recorder.restored(ref, workspace, version, restored.changedFiles, actor);
    this.deps.log.info('workspace set back to a checkpoint', { taskId: task.id, attempt: attempt.index, checkpoint: version, snapshot: restored.snapshot });
  }

  /** Checkpoints live in the snapshot history on the disk of the node that ran the attempt. */
  private noCheckpoint(task: Task, version: string): HttpError {
    const where = this.deps.fleet ? ` on this node: in a fleet the checkpoint history is on the node that ran the attempt${task.node ? ` (${task.node})` : ''}` : '';
    return new HttpError('not_found', `no checkpoint ${version} in this task${where}`);
  }

  /** After a restart: running work becomes interrupted (kept), queued work is queued again. */
  async recover(): Promise<void> {
    // A fleet node starting finds other nodes' work running: what a dead node left comes back
    // through its expired leases (fleet/claimer.ts), and queued work is claimed from the database.
    if (this.deps.fleet) return;
    const { store, events } = this.deps;
    for (const task of await store.listTasks()) {
      for (const a of await store.getAttempts(task.id)) {
        const followup = a.status === 'queued' ? (await store.peekMessages(a.workspaceKey, 'followup')).at(-1) : undefined;
        // Queued with a conversation and no follow-up waiting: answered, it was waiting for a slot
        // (the answer went with the process); as interrupted as a running one.
        const midRun = a.status === 'queued' && !followup && a.history.length > 0;
        if (a.status === 'preparing' || a.status === 'running' || a.status === 'waiting_for_input' || midRun) {
          await events.setAttempt(task.id, a.index, { status: 'interrupted', error: interruptedError() }, { question: undefined, finishedAt: new Date().toISOString() });
          void this.refreshChangedFiles(task.id, a);
        } else if (a.status === 'queued') {
          await this.schedule({ taskId: task.id, index: a.index, key: a.workspaceKey, prompt: followup?.text ?? task.prompt, followup: Boolean(followup) });
        }
      }
    }
  }

  private async refreshChangedFiles(taskId: string, a: AttemptRecord): Promise<void> {
    try {
      const ws = await this.deps.workspaces.find(a.workspaceKey);
      if (!ws) return;
      await this.deps.recorder.record({ taskId, index: a.index, key: a.workspaceKey }, ws, 'recovered after restart');
    } catch (err) {
      this.deps.log.warn('could not reopen workspace after restart', { taskId, err: err as Error });
    }
  }

  private async schedule(job: AttemptJob): Promise<void> {
    if (this.deps.fleet) return this.deps.fleet.queued();
    const owner = (await this.deps.store.getTask(job.taskId))?.owner ?? null;
    this.deps.scheduler.enqueue(job.key, async (signal, lease) => {
      if (job.followup) await this.deps.store.takeMessages(job.key, 'followup');
      await this.deps.runner.run(job, signal, lease);
    }, owner);
  }
}

function repoInfo(spec: CreateTaskRequest['repo']): RepoInfo {
  switch (spec.kind) {
    case 'local':
      return { kind: 'local', name: spec.path.split('/').filter(Boolean).pop() ?? spec.path, path: spec.path, branch: spec.branch, remoteUrl: spec.remoteUrl, commit: spec.commit };
    case 'bundle':
      return { kind: 'bundle', name: spec.name ?? 'repository', branch: spec.branch, remoteUrl: spec.remoteUrl, commit: spec.commit };
    case 'remote':
      return { kind: 'remote', name: spec.url.replace(/\.git$/, '').split(/[/:]/).pop() ?? spec.url, url: stripCredentials(spec.url), remoteUrl: stripCredentials(spec.url), branch: spec.branch, commit: spec.commit };
    default: {
      const never: never = spec;
      return never;
    }
  }
}

function stripCredentials(url: string): string {
  return url.replace(/^(https?:\/\/)[^/@]*@/, '$1');
}
