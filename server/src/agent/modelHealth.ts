// Whether the model endpoint can be used, for /healthz: set at all (OPENAI_BASE_URL /
// OPENAI_API_KEY), answering (checked at start with a model list), and what the last failure was
// (a task that failed on the model). Clients show it before the user's first task fails on it.
import type OpenAI from 'openai';
import type { EventBus } from '../eventBus';

export interface ModelHealthView {
  configured: boolean;
  /** Host of the endpoint (never the key or the path); null when none is configured. */
  host: string | null;
  ok: boolean;
  reason?: string;
}

const NOT_CONFIGURED = 'no model endpoint: set OPENAI_BASE_URL (and OPENAI_API_KEY) in the server\'s environment and restart it';

export class ModelHealth {
  private ok: boolean;
  private reason: string | undefined;
  private readonly host: string | null;
  private checking: Promise<void> | undefined;

  constructor(
    private readonly client: OpenAI | null,
    baseUrl: string | undefined,
  ) {
    this.host = client ? hostOf(baseUrl ?? 'https://api.openai.com/v1') : null;
    this.ok = client !== null;
    this.reason = client ? undefined : NOT_CONFIGURED;
  }

  view(): ModelHealthView {
    return { configured: this.client !== null, host: this.host, ok: this.ok, ...(this.reason ? { reason: this.reason } : {}) };
  }

  /** Asks the endpoint for its models (5 s at most). An endpoint without that list still counts as answering. */
  check(): Promise<void> {
    if (!this.client) return Promise.resolve();
    this.checking ??= this.client.models
      .list({ timeout: 5_000, maxRetries: 0 })
      .then(
        () => this.set(true, undefined),
        (e: unknown) => {
          const status = (e as { status?: unknown }).status;
          if (status === 404 || status === 405) return this.set(true, undefined);
          const why = status === 401 || status === 403 ? `the key was refused (HTTP ${status}): check OPENAI_API_KEY` : `it did not answer: ${e instanceof Error ? e.message : String(e)}`;
          this.set(false, `the model endpoint at ${this.host} is not usable: ${why}`);
        },
      )
      .finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** A task failed on the model: say so until a check or a task shows it answers again. */
  noteFailure(message: string): void {
    this.set(false, `the last task failed on the model: ${message}`);
    void this.check();
  }

  noteSuccess(): void {
    if (this.client) this.set(true, undefined);
  }

  /** Follows the tasks' outcomes: one failed on the model, or one completed. Returns the unsubscribe. */
  followTasks(bus: EventBus): () => void {
    return bus.subscribe((e) => {
      if (e.type !== 'task.status') return;
      if (e.task.status === 'failed' && e.task.error?.code.startsWith('model_')) this.noteFailure(e.task.error.message);
      else if (e.task.status === 'completed') this.noteSuccess();
    });
  }

  private set(ok: boolean, reason: string | undefined): void {
    this.ok = ok;
    this.reason = reason;
  }
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}
