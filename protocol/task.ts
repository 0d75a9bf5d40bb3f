// Task shapes shared by the server and the extension. Typed once (zod), validated at every boundary.
import * as z from 'zod';

export const PROTOCOL_VERSION = 1;

export const TaskStatus = z.enum([
  'queued',
  'preparing',
  'running',
  'waiting_for_input',
  'completed',
  'failed',
  'cancelled',
  'interrupted',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** States in which nothing runs for the task; a message then starts a follow-up. */
export const FINISHED_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];
export const ACTIVE_STATUSES: readonly TaskStatus[] = ['preparing', 'running', 'waiting_for_input'];
export function isFinished(status: TaskStatus): boolean {
  return FINISHED_STATUSES.includes(status);
}

/** A path inside the repository: relative, no `..` segment, no NUL. */
export const RelativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'), {
    message: 'must be a relative path inside the repository',
  });
const REMOTE_FORMS = 'https://host/owner/repo.git, ssh://git@host/owner/repo.git or git@host:owner/repo.git';

/**
 * Why the server must not fetch from `url`, or null. Only http(s) and ssh reach git: other
 * transports run commands (`ext::`) or read the server's own disk (`file://`, a path), and a
 * leading `-` would be read as an option.
 */
export function remoteUrlProblem(url: string): string | null {
  const shown = JSON.stringify(url.length > 120 ? `${url.slice(0, 120)}…` : url);
  const unsupported = `only http(s) and ssh remotes are supported (${REMOTE_FORMS}); got ${shown}`;
  if (/[\s\\\p{Cc}]/u.test(url) || url.startsWith('-')) return unsupported;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // scp-like [user@]host:path; `transport::address` has an empty path start and is not one.
    const scp = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]*@)?(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]):[^:-]/.test(url);
    return scp ? null : unsupported;
  }
  if (!['http', 'https', 'ssh', 'git+ssh', 'ssh+git'].includes(scheme)) return unsupported;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${shown} is not a valid URL`;
  }
  if (!parsed.hostname || parsed.hostname.startsWith('-') || parsed.username.startsWith('-')) return unsupported;
  if (parsed.password || (parsed.username && scheme.startsWith('http'))) {
    return 'credentials in the URL are refused; the server fetches with the token you pass per request';
  }
  return null;
}

const RemoteUrl = z
  .string()
  .min(1)
  .max(2048)
  .superRefine((url, ctx) => {
    const problem = remoteUrlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const commitSha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit id');

// Request schemas are strict: an unknown (often misspelled) field is refused with 422 naming it,
// never silently dropped. Response schemas strip instead, so an older client reads a newer server.

/** Where the repository comes from. */
export const RepoSpec = z.discriminatedUnion('kind', [
  z.strictObject({
    /** The server runs on the same machine and reads the repository directly. */
    kind: z.literal('local'),
    path: z.string().min(1).max(4096).refine((p) => p.startsWith('/'), 'must be an absolute path'),
    /** Commit to start from; default: the repository's HEAD. */
    commit: commitSha.optional(),
    /** Apply the working tree's uncommitted changes (tracked and untracked); default true. */
    includeUncommitted: z.boolean().optional(),
    branch: z.string().max(255).optional(),
    remoteUrl: z.string().max(2048).optional(),
  }),
  z.strictObject({
    /** Commits uploaded with POST /v1/bundles, plus the uncommitted changes as a binary git patch. */
    kind: z.literal('bundle'),
    bundleId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    commit: commitSha,
    patch: z.string().max(20 * 1024 * 1024).optional(),
    branch: z.string().max(255).optional(),
    remoteUrl: z.string().max(2048).optional(),
    /** A name to show for the repository (its folder name). */
    name: z.string().max(255).optional(),
  }),
  z.strictObject({
    /** The server fetches from the remote itself. */
    kind: z.literal('remote'),
    url: RemoteUrl,
    commit: commitSha.optional(),
    branch: z.string().max(255).optional(),
  }),
]);
export type RepoSpec = z.infer<typeof RepoSpec>;

export const Selection = z
  .strictObject({
    path: RelativePath,
    startLine: z.number().int().min(1),
    endLine: z.number().int().min(1),
    text: z.string().max(200_000),
  })
  .refine((s) => s.endLine >= s.startLine, { message: 'endLine is before startLine', path: ['endLine'] });
export type Selection = z.infer<typeof Selection>;

export const NetworkMode = z.enum(['off', 'setup', 'on']);
export type NetworkMode = z.infer<typeof NetworkMode>;

export const TaskLimits = z.strictObject({
  maxTurns: z.number().int().min(1).max(1000).optional(),
  maxWallTimeMs: z.number().int().min(1000).max(24 * 3600_000).optional(),
  maxTokens: z.number().int().min(1000).optional(),
  commandTimeoutMs: z.number().int().min(100).max(3600_000).optional(),
});
export type TaskLimits = z.infer<typeof TaskLimits>;

/** An environment variable's name (setup env, setup secrets). */
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

/**
 * What a repository needs to work in (`.delegate/environment.json`, or the task option
 * `environment`): the sandbox image, a setup script run once per commit and environment (its
 * result is cached as a layer under the task's workspace), its environment variables, whether it
 * gets the network, and which of the server's setup secrets (--setup-secret) it receives.
 */
export const EnvironmentSpec = z.strictObject({
  /** A local Docker image (docker sandbox only; bwrap runs the host's /usr). */
  image: z.string().min(1).max(256).regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'a docker image name').optional(),
  setup: z.string().min(1).max(100_000).optional(),
  env: z.record(EnvName, z.string().max(10_000)).optional(),
  /** Setup may use the host's network (default false). The agent's network is the task's `network`. */
  network: z.boolean().optional(),
  secrets: z.array(EnvName).max(32).optional(),
});
export type EnvironmentSpec = z.infer<typeof EnvironmentSpec>;

export const TaskOptions = z.strictObject({
  model: z.string().min(1).max(200).optional(),
  reasoningEffort: z.enum(['minimal', 'low', 'medium', 'high']).optional(),
  /** Best-of-N: independent attempts run in parallel; the user picks one. */
  attempts: z.number().int().min(1).max(4).optional(),
  network: NetworkMode.optional(),
  setupScript: z.string().max(100_000).optional(),
  /** Overrides the repository's `.delegate/environment.json`. */
  environment: EnvironmentSpec.optional(),
  limits: TaskLimits.optional(),
});
export type TaskOptions = z.infer<typeof TaskOptions>;

export const Usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  cachedInputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  reasoningTokens: z.number().int().nonnegative(),
  /** Estimated from the model's list price when known; null otherwise. */
  costUsd: z.number().nonnegative().nullable(),
  modelRequests: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof Usage>;
export const EMPTY_USAGE: Usage = {
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  costUsd: null,
  modelRequests: 0,
};

/** Usage of two runs together (best-of-N attempts, follow-ups). */
export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    reasoningTokens: a.reasoningTokens + b.reasoningTokens,
    costUsd: a.costUsd === null && b.costUsd === null ? null : (a.costUsd ?? 0) + (b.costUsd ?? 0),
    modelRequests: a.modelRequests + b.modelRequests,
  };
}

export const ChangedFile = z.object({
  path: z.string(),
  status: z.enum(['added', 'modified', 'deleted', 'renamed']),
  oldPath: z.string().optional(),
  additions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
  binary: z.boolean().optional(),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

export const TestResult = z.object({
  command: z.string(),
  passed: z.boolean(),
  summary: z.string().optional(),
});
export type TestResult = z.infer<typeof TestResult>;

export const ErrorInfo = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof ErrorInfo>;

export const PullRequestInfo = z.object({
  url: z.string(),
  number: z.number().int(),
  branch: z.string(),
});
export type PullRequestInfo = z.infer<typeof PullRequestInfo>;

export const Question = z.object({ id: z.string(), text: z.string() });
export type Question = z.infer<typeof Question>;

export const AttemptInfo = z.object({
  index: z.number().int().min(0),
  status: TaskStatus,
  changedFiles: z.array(ChangedFile),
  summary: z.string().optional(),
  error: ErrorInfo.optional(),
  usage: Usage,
});
export type AttemptInfo = z.infer<typeof AttemptInfo>;

/** The repository as the server resolved it. */
export const RepoInfo = z.object({
  kind: z.enum(['local', 'bundle', 'remote']),
  name: z.string(),
  path: z.string().optional(),
  url: z.string().optional(),
  remoteUrl: z.string().optional(),
  branch: z.string().optional(),
  /** The user's commit the task starts from (set once prepared). */
  commit: z.string().optional(),
});
export type RepoInfo = z.infer<typeof RepoInfo>;

export const Task = z.object({
  id: z.string(),
  status: TaskStatus,
  prompt: z.string(),
  repo: RepoInfo,
  selection: Selection.strip().optional(),
  options: TaskOptions.extend({ limits: TaskLimits.strip().optional() }).strip(),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  usage: Usage,
  changedFiles: z.array(ChangedFile),
  summary: z.string().optional(),
  testResult: TestResult.optional(),
  error: ErrorInfo.optional(),
  question: Question.optional(),
  pullRequest: PullRequestInfo.optional(),
  /** Present with best-of-N; the top-level fields mirror the selected attempt. */
  attempts: z.array(AttemptInfo).optional(),
  selectedAttempt: z.number().int().min(0).optional(),
  /** The sandbox driver that ran it. */
  sandbox: z.string().optional(),
  /** The GitHub login of the user who created it; null for the admin (the server token). Absent from older servers. */
  owner: z.string().nullable().optional(),
  /** The server node that runs, or last ran, the current attempt (--node-id). Absent before it started. */
  node: z.string().nullable().optional(),
});
export type Task = z.infer<typeof Task>;
