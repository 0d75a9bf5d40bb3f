// Failure as a value: callers that must decide (show a message, retry, fall back) get a Result.

export interface Failure {
  code: string;
  message: string;
  /** HTTP status when the failure came from the server. */
  status?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: Failure };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: string, message: string, status?: number): Result<T> {
  return { ok: false, error: status === undefined ? { code, message } : { code, message, status } };
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
