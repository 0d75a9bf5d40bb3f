// One model turn with the retries that are ours to make (the SDK's own are off, so every retry is
// visible as a warning): rate limits and server errors with backoff that honours retry-after, and a
// stream cut mid-way. Everything else is final and reported as a readable model_error.
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { Scrubber } from '../log';
import { streamChatTurn } from './wire/chat';
import { streamResponsesTurn } from './wire/responses';
import { ModelProtocolError, ModelStreamError, StreamCutError, type ModelTurn, type TurnRequest } from './wire/turn';

export const MAX_MODEL_ATTEMPTS = 5;
const BASE_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A server asking for a longer pause than this is not coming back within a task's patience. */
const MAX_RETRY_AFTER_MS = 120_000;
/** No byte of a response for this long counts as a cut stream (the SDK's timeout ends at the headers). */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export type ModelCallResult =
  | { ok: true; turn: ModelTurn }
  | { ok: false; aborted: true }
  | { ok: false; aborted: false; message: string };

interface Classified {
  retryable: boolean;
  message: string;
  retryAfterMs?: number;
}

/** Milliseconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (headers?.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

export function classifyModelError(err: unknown): Classified {
  if (err instanceof APIError && err.status !== undefined) {
    const status = err.status;
    const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
    let message = `the model endpoint answered HTTP ${status}: ${err.message.replace(/^\d{3}\s*/, '')}`;
    if (status === 401) message = 'the model endpoint rejected the API key (HTTP 401); check OPENAI_API_KEY';
    if (status === 404) message = `the model endpoint answered HTTP 404: ${err.message.replace(/^\d{3}\s*/, '')} (check the model name and the base URL)`;
    return { retryable, message, retryAfterMs: retryAfterMs(err.headers) };
  }
  if (err instanceof APIConnectionError) {
    return { retryable: true, message: `could not reach the model endpoint: ${err.cause instanceof Error ? err.cause.message : err.message}` };
  }
  if (err instanceof StreamCutError || err instanceof ModelStreamError) return { retryable: true, message: err.message };
  if (err instanceof ModelProtocolError) return { retryable: false, message: err.message };
  if (err instanceof SyntaxError) {
    return { retryable: false, message: `the model endpoint sent data that is not JSON (${err.message}); is the base URL an OpenAI-compatible API?` };
  }
  // undici reports a connection dropped mid-body as a TypeError ('terminated').
  if (err instanceof TypeError && /terminated|socket|other side closed|ECONNRESET/i.test(`${err.message} ${String(err.cause)}`)) {
    return { retryable: true, message: `the model's response stream was cut (${err.message})` };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { retryable: false, message: `unexpected error talking to the model: ${message}` };
}

/** A cut stream is a network blip, not an overloaded server: come back sooner. */
function backoffMs(attempt: number, cut: boolean): number {
  const base = Math.min(MAX_BACKOFF_MS, (cut ? BASE_BACKOFF_MS / 4 : BASE_BACKOFF_MS) * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface ModelCallOptions {
  wireApi: 'responses' | 'chat';
  request: TurnRequest;
  scrubber: Scrubber;
  onRetry(info: { attempt: number; delayMs: number; message: string; cut: boolean }): void;
  idleTimeoutMs?: number;
}

export async function callModel(options: ModelCallOptions): Promise<ModelCallResult> {
  const { request, scrubber } = options;
  const stream = options.wireApi === 'chat' ? streamChatTurn : streamResponsesTurn;
  let last = '';
  for (let attempt = 0; attempt < MAX_MODEL_ATTEMPTS; attempt++) {
    // The SDK never removes the abort listener it adds to the signal it gets; a signal per attempt
    // keeps those from piling up on the run's signal over a long task.
    const attemptController = new AbortController();
    const forward = () => attemptController.abort(request.signal.reason);
    request.signal.addEventListener('abort', forward, { once: true });
    if (request.signal.aborted) forward();
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const stall = () => attemptController.abort(new StreamCutError(`no data from the model for ${idleMs >= 1000 ? `${Math.round(idleMs / 1000)} s` : `${idleMs} ms`}`));
    let idle = setTimeout(stall, idleMs);
    const onActivity = () => {
      clearTimeout(idle);
      idle = setTimeout(stall, idleMs);
    };
    try {
      return { ok: true, turn: await stream({ ...request, signal: attemptController.signal, onActivity }) };
    } catch (thrown) {
      if (request.signal.aborted) return { ok: false, aborted: true };
      const stalled = attemptController.signal.reason instanceof StreamCutError;
      if (!stalled && thrown instanceof APIUserAbortError) return { ok: false, aborted: true };
      const err: unknown = stalled ? attemptController.signal.reason : thrown;
      const c = classifyModelError(err);
      last = scrubber.scrub(c.message);
      if (!c.retryable) return { ok: false, aborted: false, message: last };
      if (attempt === MAX_MODEL_ATTEMPTS - 1) break;
      const cut = err instanceof StreamCutError || err instanceof TypeError;
      const delayMs = Math.min(MAX_RETRY_AFTER_MS, c.retryAfterMs ?? backoffMs(attempt, cut));
      options.onRetry({ attempt: attempt + 1, delayMs, message: last, cut });
      await sleep(delayMs, request.signal);
      if (request.signal.aborted) return { ok: false, aborted: true };
    } finally {
      clearTimeout(idle);
      request.signal.removeEventListener('abort', forward);
    }
  }
  return { ok: false, aborted: false, message: `gave up after ${MAX_MODEL_ATTEMPTS} attempts: ${last}` };
}
