// What every stage needs: the fake model, the server, one event-stream client and the repository,
// plus running one scripted task and recording when each model turn was asked for and answered.
import type { FakeModel, Step, StepObject } from '../test/support/fakeModel';
import type { TaskEvent } from '../protocol';
import { nowMs } from './clock';
import type { EventFeed, Received } from './feed';
import type { BenchServer } from './server';

export interface TurnTimes {
  /** The request arrived and was parsed by the fake model. */
  requestAt: number;
  /** The reply (zero latency) was written out: stamped on the next turn of the model's loop. */
  replyEndAt: number;
}

export interface TaskRun {
  id: string;
  /** Just before the POST was sent. */
  sentAt: number;
  /** The 201 answer arrived. */
  acceptedAt: number;
  /** The final task.status event arrived on the WebSocket. */
  finishedAt: number;
  final: Extract<TaskEvent, { type: 'task.status' }>;
  turns: TurnTimes[];
  events: Received[];
}

export type ToolResult = Extract<TaskEvent, { type: 'tool.result' }>;

/** Steps that record when each turn was requested and when its reply had been sent. */
export function timedSteps(steps: StepObject[]): { steps: Step[]; turns: TurnTimes[] } {
  const turns: TurnTimes[] = [];
  const wrapped: Step[] = steps.map((step) => (request) => {
    const times: TurnTimes = { requestAt: nowMs(), replyEndAt: Number.NaN };
    turns[request.turn] = times;
    // The fake model writes the whole reply synchronously after this returns.
    setImmediate(() => (times.replyEndAt = nowMs()));
    return step;
  });
  return { steps: wrapped, turns };
}

export const shell = (command: string): StepObject => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });
export const finish = (summary = 'Done.'): StepObject => ({ toolCalls: [{ name: 'finish', arguments: { summary } }] });

export class Bench {
  private scripts = 0;

  constructor(
    readonly model: FakeModel,
    readonly server: BenchServer,
    readonly feed: EventFeed,
    readonly repo: string,
    readonly label: string,
  ) {}

  private async post(path: string, method: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const res = await fetch(this.server.url + path, {
      method,
      headers: { authorization: `Bearer ${this.server.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  }

  /** Submits a task playing `steps`; resolves once it is accepted. */
  async submit(steps: StepObject[]): Promise<{ id: string; sentAt: number; acceptedAt: number; turns: TurnTimes[] }> {
    const name = `${this.label}-${this.scripts++}`;
    const timed = timedSteps(steps);
    this.model.setScript(name, timed.steps);
    const body = { prompt: `Benchmark task [[script:${name}]]`, repo: { kind: 'local', path: this.repo } };
    const sentAt = nowMs();
    const res = await this.post('/v1/tasks', 'POST', body);
    const acceptedAt = nowMs();
    if (res.status !== 201) throw new Error(`POST /v1/tasks: ${res.status} ${JSON.stringify(res.json)}`);
    return { id: (res.json as { id: string }).id, sentAt, acceptedAt, turns: timed.turns };
  }

  /** Waits for the task's end; anything but `completed` is an error (the figures would be wrong). */
  async complete(submitted: { id: string; sentAt: number; acceptedAt: number; turns: TurnTimes[] }, timeoutMs = 120_000): Promise<TaskRun> {
    const end = await this.feed.finished(submitted.id, timeoutMs);
    const final = end.event as Extract<TaskEvent, { type: 'task.status' }>;
    if (final.status !== 'completed') {
      throw new Error(`task ${submitted.id} ended ${final.status}: ${JSON.stringify(final.task.error)}\n${this.server.logs().slice(-3000)}`);
    }
    return { ...submitted, finishedAt: end.at, final, events: this.feed.events(submitted.id) };
  }

  async run(steps: StepObject[]): Promise<TaskRun> {
    return this.complete(await this.submit(steps));
  }

  async remove(id: string): Promise<void> {
    const res = await this.post(`/v1/tasks/${id}`, 'DELETE');
    if (res.status !== 204) throw new Error(`DELETE /v1/tasks/${id}: ${res.status} ${JSON.stringify(res.json)}`);
    this.feed.forget(id);
  }
}

export function toolResults(run: TaskRun): ToolResult[] {
  return run.events.map((r) => r.event).filter((e): e is ToolResult => e.type === 'tool.result');
}

/** The `date +%s%N` stamp a command printed (a line of 19 digits). */
export function stampIn(output: string): string | undefined {
  return /^\d{19}$/m.exec(output)?.[0];
}
