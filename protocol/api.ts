// REST bodies and stable error codes of the companion server's HTTP API (see docs/api.md).
import * as z from 'zod';
import { RepoSpec, Selection, TaskOptions, Task, PullRequestInfo } from './task';

export const CreateTaskRequest = z.strictObject({
  prompt: z.string().trim().min(1, 'prompt must not be empty').max(100_000),
  repo: RepoSpec,
  selection: Selection.optional(),
  options: TaskOptions.optional(),
});
export type CreateTaskRequest = z.infer<typeof CreateTaskRequest>;

/** A diff's version (diff.updated's diffVersion, GET /diff's X-Delegate-Diff-Version): 16 hex digits. */
export const DiffVersion = z.string().regex(/^[0-9a-f]{16}$/, 'expected a diff version (16 hex digits)');

export const MessageRequest = z.strictObject({
  text: z.string().trim().min(1).max(100_000),
  /**
   * Start this follow-up from a checkpoint (a diffVersion announced with `checkpoint: true`): the
   * workspace is set back to it first. Only for a follow-up of a finished task (else 409).
   */
  fromCheckpoint: DiffVersion.optional(),
});
export type MessageRequest = z.infer<typeof MessageRequest>;

export const MessageResponse = z.object({
  kind: z.enum(['steer', 'answer', 'followup']),
  task: Task,
});
export type MessageResponse = z.infer<typeof MessageResponse>;

/**
 * Which hunks to take. Hunk indexes refer to the file's hunks in GET /v1/tasks/{id}/diff (git's
 * default 3 lines of context). A file absent from `files` is not taken; omit `accept` to take all.
 */
export const AcceptSpec = z.strictObject({
  files: z
    .array(
      z.strictObject({
        path: z.string().min(1).max(4096),
        /** Omitted: the whole file. */
        hunks: z.array(z.number().int().min(0)).max(10_000).optional(),
      }),
    )
    .max(10_000),
  /**
   * The diff these decisions were made on (GET /diff's X-Delegate-Diff-Version, or diff.updated's
   * diffVersion). When the task's diff has changed since, the request is refused with 409
   * `conflict`: fetch the diff again and re-check the decisions.
   */
  diffVersion: z.string().min(1).max(128).optional(),
});
export type AcceptSpec = z.infer<typeof AcceptSpec>;

export const PullRequestRequest = z.strictObject({
  githubToken: z.string().min(1).max(1000),
  accept: AcceptSpec.optional(),
  title: z.string().max(256).optional(),
  draft: z.boolean().optional(),
});
export type PullRequestRequest = z.infer<typeof PullRequestRequest>;
export const PullRequestResponse = PullRequestInfo;
export type PullRequestResponse = z.infer<typeof PullRequestResponse>;

export const SelectAttemptRequest = z.strictObject({ attempt: z.number().int().min(0).max(3) });

export const TaskList = z.object({ tasks: z.array(Task) });
export type TaskList = z.infer<typeof TaskList>;

export const BundleResponse = z.object({ bundleId: z.string() });

export const Health = z.object({
  ok: z.boolean(),
  version: z.string(),
  protocolVersion: z.number().int(),
  /** The model endpoint: configured, answering, and why not (absent from older servers). */
  model: z.object({ configured: z.boolean(), host: z.string().nullable(), ok: z.boolean(), reason: z.string().optional() }).optional(),
  /** uncapped: what the sandboxes run without (the server was started with --allow-uncapped). */
  /** toolchains: the commands a bwrap sandbox has (the host's /usr: node, python3, git, …); absent for docker (the image decides). */
  sandbox: z.object({ driver: z.string().nullable(), ok: z.boolean(), reason: z.string().optional(), uncapped: z.string().optional(), toolchains: z.array(z.string()).optional() }),
  /** github: the server accepts a GitHub token as a user's credential (--github-allow); absent from older servers. */
  auth: z.object({ github: z.boolean() }).optional(),
  /**
   * A fleet node's (--database-url): its id and the fleet's live nodes with their free slots;
   * reachable false when the database did not answer. Absent on a single SQLite server.
   */
  fleet: z
    .object({
      node: z.string(),
      leaseMs: z.number().int(),
      nodes: z.array(z.object({ id: z.string(), maxParallel: z.number().int(), running: z.number().int(), free: z.number().int(), seenAt: z.string().nullable() })),
      reachable: z.boolean().optional(),
    })
    .optional(),
});
export type Health = z.infer<typeof Health>;
