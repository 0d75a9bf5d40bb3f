// Stable error codes — of the HTTP API and of tasks — each with its fixed HTTP status. Typed once
// here; a code that is not in ErrorCode is a bug (test/unit/protocol/errorCodes.test.ts checks the
// server's sources against this list).
import * as z from 'zod';

/** Codes the HTTP API answers with ({error: {code, message}}). */
export const ApiErrorCode = z.enum([
  'bad_request',
  'invalid_json',
  'validation_failed',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'request_timeout',
  'headers_too_large',
  'rate_limited',
  'internal',
  'sandbox_unavailable',
  'shutting_down',
  'repo_error',
  'github_error',
  'github_unauthorized',
  'github_forbidden',
  'no_remote',
  'not_github_remote',
  'branch_exists',
  'base_moved',
  'nothing_to_commit',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** Codes a task's (or an attempt's) `error` and a `warning` event carry. */
export const TaskErrorCode = z.enum([
  // Why a task failed or stopped.
  'internal',
  'interrupted',
  'sandbox_unavailable',
  'model_not_configured',
  'repo_error',
  'setup_failed',
  'model_error',
  'turn_limit',
  'token_limit',
  'time_limit',
  'loop_detected',
  // Warnings: the task goes on.
  'model_retry',
  'model_stream_cut',
  'tool_error',
  'diff_error',
  'limit_reached',
]);
export type TaskErrorCode = z.infer<typeof TaskErrorCode>;

/** Every stable code (some are both: `internal`, `repo_error`, `sandbox_unavailable`). */
export const ErrorCode = z.enum([...ApiErrorCode.options, ...TaskErrorCode.options]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/**
 * The HTTP status of each code. Task codes reach HTTP only inside a task, but keep a status so a
 * client can treat every code alike (4xx: the task or request as given cannot succeed; 5xx: the
 * server or a service behind it failed).
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  request_timeout: 408,
  headers_too_large: 431,
  rate_limited: 429,
  internal: 500,
  sandbox_unavailable: 503,
  shutting_down: 503,
  repo_error: 422,
  github_error: 502,
  github_unauthorized: 401,
  github_forbidden: 403,
  no_remote: 422,
  not_github_remote: 422,
  branch_exists: 409,
  base_moved: 409,
  nothing_to_commit: 422,
  interrupted: 503,
  model_not_configured: 503,
  setup_failed: 422,
  model_error: 502,
  turn_limit: 422,
  token_limit: 422,
  time_limit: 422,
  loop_detected: 422,
  model_retry: 502,
  model_stream_cut: 502,
  tool_error: 500,
  diff_error: 500,
  limit_reached: 422,
} as const satisfies Record<ErrorCode, number>;

/** An error as a task or an event carries it, typed for the code that produces it. */
export interface TaskError {
  code: TaskErrorCode;
  message: string;
}

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ErrorBody = z.infer<typeof ErrorBody>;
