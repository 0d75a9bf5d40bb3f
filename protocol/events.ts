// Events: an append-only log with a global rising sequence number. Every event a client sees was
// committed to the store first. Clients resume with the last seq they hold (GET /v1/events?since=N).
import * as z from 'zod';
import { ChangedFile, ErrorInfo, PullRequestInfo, Task, TaskStatus, TestResult, Usage } from './task';

/** Who did it (audit): the user's GitHub login, null for the admin (the server token); absent from older servers. */
const actor = z.string().nullable().optional();

/** Suggested answers to a question: 2–4, each short enough for a button. */
export const QuestionChoices = z
  .array(z.string().trim().min(1).max(80))
  .min(2)
  .max(4)
  .refine((a) => new Set(a).size === a.length, 'the choices must differ');
export type QuestionChoices = z.infer<typeof QuestionChoices>;

const base = {
  seq: z.number().int().nonnegative(),
  taskId: z.string(),
  at: z.string(),
  /** seq of the event that caused this one (a tool result points at its call), when known. */
  cause: z.number().int().optional(),
  /** Best-of-N attempt index; absent means attempt 0. */
  attempt: z.number().int().min(0).optional(),
};

export const TaskEvent = z.discriminatedUnion('type', [
  /** A task was created; carries the whole task. */
  z.object({ ...base, type: z.literal('task.created'), task: Task, actor }),
  /** Any change of status; carries the task as it now is. `actor`: who cancelled it, on the change to `cancelled`. */
  z.object({ ...base, type: z.literal('task.status'), status: TaskStatus, task: Task, actor }),
  /** The task was removed by the user. */
  z.object({ ...base, type: z.literal('task.deleted'), actor }),
  /** The user asked to cancel the task; the task.status that makes it `cancelled` names this event (`cause`). */
  z.object({ ...base, type: z.literal('task.cancel_requested'), actor }),
  /** A streamed piece of the agent's visible text. */
  z.object({ ...base, type: z.literal('agent.delta'), messageId: z.string(), text: z.string() }),
  /** The agent's complete message for one turn. */
  z.object({ ...base, type: z.literal('agent.message'), messageId: z.string(), text: z.string() }),
  /** A reasoning summary, when the model provides one. */
  z.object({ ...base, type: z.literal('agent.reasoning'), text: z.string() }),
  /** The agent called a tool. `args` is the parsed arguments (or the raw string when unparsable). */
  z.object({ ...base, type: z.literal('tool.call'), callId: z.string(), name: z.string(), args: z.unknown() }),
  /** Streamed output of a running command, chunked and capped. */
  z.object({
    ...base,
    type: z.literal('tool.output'),
    callId: z.string(),
    stream: z.enum(['stdout', 'stderr']),
    chunk: z.string(),
  }),
  /** A tool finished. `output` is what the model saw (already capped). */
  z.object({
    ...base,
    type: z.literal('tool.result'),
    callId: z.string(),
    name: z.string(),
    ok: z.boolean(),
    output: z.string(),
    exitCode: z.number().int().nullable().optional(),
    durationMs: z.number().nonnegative(),
  }),
  /**
   * The changed files after a command or patch changed something. Once the work is snapshotted,
   * `diffVersion` names the diff it makes (as GET /v1/tasks/{id}/diff's X-Delegate-Diff-Version
   * does): a client holding a diff of another version should fetch it again.
   */
  z.object({
    ...base,
    type: z.literal('diff.updated'),
    changedFiles: z.array(ChangedFile),
    diffVersion: z.string().optional(),
    /**
     * The state it announces is kept as a checkpoint: the work as a turn of the agent (a model
     * response and its tool calls) left it, with a snapshot commit that exists by the time this is
     * sent; GET /diff and /file take `checkpoint=<diffVersion>` to show it, and a follow-up may
     * start from it (MessageRequest.fromCheckpoint). One per turn that changed the diff; `cause`
     * is the turn's last file-changing tool call.
     */
    checkpoint: z.boolean().optional(),
  }),
  /**
   * The agent asks the user; the task waits in `waiting_for_input`. `choices`: answers the agent
   * suggests (2–4 short ones, shown as buttons); any other text is an answer all the same.
   */
  z.object({ ...base, type: z.literal('question'), questionId: z.string(), text: z.string(), choices: QuestionChoices.optional() }),
  /** A message from the user: steering a running task, answering a question, or a follow-up. */
  z.object({
    ...base,
    type: z.literal('user.message'),
    kind: z.enum(['steer', 'answer', 'followup']),
    text: z.string(),
  }),
  /**
   * A follow-up started from a checkpoint: the attempt's workspace was set back to the state
   * `checkpoint` (a diffVersion) names; the later work stays reachable as checkpoints. A
   * diff.updated of the restored state follows.
   */
  z.object({ ...base, type: z.literal('workspace.restored'), checkpoint: z.string(), actor }),
  /** Token usage so far (cumulative for the task). */
  z.object({ ...base, type: z.literal('usage'), usage: Usage }),
  /** Setup phase progress: preparing the workspace, running the setup script. */
  z.object({ ...base, type: z.literal('setup.log'), text: z.string() }),
  /**
   * The environment's setup step (server/src/environments): `cached` when its result came from the
   * cache of set-up layers (no script ran). Its output follows as setup.log events.
   */
  z.object({ ...base, type: z.literal('setup.started'), cached: z.boolean() }),
  /** The setup step ended: exitCode 0 when it succeeded (a cached one always did). */
  z.object({ ...base, type: z.literal('setup.finished'), cached: z.boolean(), ms: z.number().nonnegative(), exitCode: z.number().int().nullable() }),
  /** The agent finished with a summary and, when it ran them, the tests' result. */
  z.object({ ...base, type: z.literal('agent.finished'), summary: z.string(), testResult: TestResult.optional() }),
  /** A non-fatal problem the user should see (a retried model call, a tool failure of the harness). */
  z.object({ ...base, type: z.literal('warning'), error: ErrorInfo }),
  /** A pull request was opened or updated. */
  z.object({ ...base, type: z.literal('pull_request'), pullRequest: PullRequestInfo, updated: z.boolean(), actor }),
  /**
   * A fleet moved the attempt to another node: `from` died or was cut off (its lease ran out) or
   * gave it back while shutting down; `to` goes on from the last snapshot and the conversation.
   */
  z.object({ ...base, type: z.literal('task.moved'), from: z.string(), to: z.string(), reason: z.enum(['lease_expired', 'drained']) }),
]);
export type TaskEvent = z.infer<typeof TaskEvent>;
export type TaskEventType = TaskEvent['type'];

export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the store gives it seq and time. */
export type NewEvent = DistributiveOmit<TaskEvent, 'seq' | 'at'>;
/** An event before the task id is attached (what task-scoped code emits). */
export type EventInput = DistributiveOmit<NewEvent, 'taskId'>;

/** Frames the server sends on the WebSocket. */
export const ServerFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), protocolVersion: z.number().int(), serverVersion: z.string(), lastSeq: z.number().int() }),
  z.object({ type: z.literal('event'), event: TaskEvent }),
  /** Replay of the log is done; what follows is live. */
  z.object({ type: z.literal('replayed'), lastSeq: z.number().int() }),
  z.object({ type: z.literal('error'), error: ErrorInfo }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** Frames a client may send: subscribe narrows to some tasks (none = all). */
export const ClientFrame = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('subscribe'), taskIds: z.array(z.string()).max(1000).optional() }),
  z.strictObject({ type: z.literal('ping') }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
