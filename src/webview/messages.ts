// Messages between the extension and the task panel's webview, typed once and validated on both
// sides (the webview is a separate, less trusted context; the extension may be newer than a
// restored webview).
import * as z from 'zod';
// Straight from the module, not the index: the webview bundle need not carry events and diffs.
import { NetworkMode, Selection, Task, TestResult } from '../../protocol/task';

export const TimelineItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('agent'), id: z.string(), text: z.string(), streaming: z.boolean(), attempt: z.number() }),
  z.object({ kind: z.literal('reasoning'), id: z.string(), text: z.string(), attempt: z.number() }),
  z.object({
    kind: z.literal('tool'),
    id: z.string(),
    name: z.string(),
    /** One readable line: the files a patch touches, the command, the path read. */
    label: z.string(),
    /** The call's main argument in full (the patch, the command). */
    args: z.string(),
    output: z.string(),
    state: z.enum(['running', 'ok', 'failed']),
    exitCode: z.number().nullable(),
    durationMs: z.number().nullable(),
    /** When the call started (epoch ms, the server's clock), for a running call's timer. */
    startedAt: z.number().nullable(),
    attempt: z.number(),
  }),
  z.object({
    kind: z.literal('question'),
    id: z.string(),
    text: z.string(),
    /** Answers the agent suggests, shown as buttons (empty: none). */
    choices: z.array(z.string()),
    answered: z.boolean(),
    attempt: z.number(),
  }),
  z.object({ kind: z.literal('user'), id: z.string(), text: z.string(), messageKind: z.enum(['steer', 'answer', 'followup']) }),
  z.object({ kind: z.literal('status'), id: z.string(), text: z.string() }),
  z.object({ kind: z.literal('setup'), id: z.string(), text: z.string(), attempt: z.number() }),
  z.object({ kind: z.literal('warning'), id: z.string(), text: z.string(), attempt: z.number() }),
  z.object({
    kind: z.literal('finished'),
    id: z.string(),
    summary: z.string(),
    testResult: TestResult.nullable(),
    attempt: z.number(),
  }),
  z.object({ kind: z.literal('pullRequest'), id: z.string(), url: z.string(), number: z.number() }),
  /**
   * A turn of the agent that left a checkpoint (the diff state the server keeps): `version` names it
   * on the server; `turn` counts the attempt's model turns (null when unknown); the counts are the
   * changed files as of it. `current`: the task's workspace is at this state now; `undone`: a later
   * follow-up from an earlier checkpoint set the workspace back past it (it stays viewable).
   */
  z.object({
    kind: z.literal('checkpoint'),
    id: z.string(),
    version: z.string(),
    turn: z.number().nullable(),
    files: z.number(),
    additions: z.number(),
    deletions: z.number(),
    current: z.boolean(),
    undone: z.boolean(),
    attempt: z.number(),
  }),
  /** The task's workspace was set back to a checkpoint (a follow-up from an earlier turn). */
  z.object({ kind: z.literal('restored'), id: z.string(), version: z.string(), turn: z.number().nullable(), attempt: z.number() }),
]);
export type TimelineItem = z.infer<typeof TimelineItem>;

export const ComposeDefaults = z.object({
  model: z.string().optional(),
  attempts: z.number().int().min(1).max(4),
  network: NetworkMode,
});
export type ComposeDefaults = z.infer<typeof ComposeDefaults>;

export const ConnectionView = z.object({
  kind: z.enum(['connecting', 'connected', 'offline', 'incompatible']),
  detail: z.string(),
});

export const HostMessage = z.discriminatedUnion('type', [
  /** Show the prompt editor, optionally with the selection it will carry. */
  z.object({
    type: z.literal('compose'),
    selection: Selection.optional(),
    repoName: z.string().optional(),
    prompt: z.string().optional(),
    defaults: ComposeDefaults,
    /** Why the last delegation failed, with what the user can do about it (the prompt is kept). */
    notice: z.object({ text: z.string(), actions: z.array(z.enum(['retry', 'startLocalServer'])) }).optional(),
  }),
  /** Show one task; sent again whenever it or its timeline changes. */
  z.object({
    type: z.literal('task'),
    task: Task,
    items: z.array(TimelineItem),
    /** The review in words ("2 hunks: 1 accepted, 1 rejected") and how many hunks are rejected. */
    review: z.object({ label: z.string(), rejected: z.number().int().nonnegative() }).nullable(),
    /** The files the last Apply wrote while it stands (not undone); null when not applied. */
    applied: z.array(z.string()).nullable(),
  }),
  /** The task to show is not known yet (the server is replaying, or not reachable). */
  z.object({ type: z.literal('waiting'), text: z.string() }),
  z.object({ type: z.literal('connection'), connection: ConnectionView }),
  z.object({ type: z.literal('submitted'), taskId: z.string() }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type HostMessage = z.infer<typeof HostMessage>;

export const PanelAction = z.enum(['cancel', 'review', 'apply', 'undoApply', 'pullRequest', 'openPullRequest', 'remove', 'sendRejections', 'retry']);
export type PanelAction = z.infer<typeof PanelAction>;

export const WebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({
    type: z.literal('submit'),
    prompt: z.string().trim().min(1).max(100_000),
    includeSelection: z.boolean(),
    options: z.object({
      model: z.string().max(200).optional(),
      attempts: z.number().int().min(1).max(4),
      network: NetworkMode,
    }),
  }),
  z.object({ type: z.literal('send'), taskId: z.string(), text: z.string().trim().min(1).max(100_000) }),
  z.object({ type: z.literal('action'), taskId: z.string(), action: PanelAction }),
  /** "Use this one" on a best-of-N attempt (0-based index, as the server counts). */
  z.object({ type: z.literal('selectAttempt'), taskId: z.string(), attempt: z.number().int().min(0).max(3) }),
  /** A checkpoint's "View changes" or "Follow up from here". */
  z.object({ type: z.literal('checkpoint'), taskId: z.string(), version: z.string().min(1).max(200), action: z.enum(['view', 'followUp']) }),
  z.object({ type: z.literal('compose') }),
  z.object({ type: z.literal('startLocalServer') }),
]);
export type WebviewMessage = z.infer<typeof WebviewMessage>;

/** What the webview keeps in getState/setState to come back after being hidden or reloaded. */
export const PanelState = z.object({
  view: z.enum(['compose', 'task']),
  taskId: z.string().optional(),
  draft: z.string().optional(),
  expanded: z.array(z.string()).optional(),
  /** Running commands whose live output the user folded. */
  collapsed: z.array(z.string()).optional(),
  /** Best-of-N: the timeline shows one attempt only (absent: all of them). */
  attemptFilter: z.number().int().min(0).optional(),
});
export type PanelState = z.infer<typeof PanelState>;
