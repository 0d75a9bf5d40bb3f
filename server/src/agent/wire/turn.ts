// One model turn, independent of the wire API that produced it.
import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import type { ConversationItem } from '../types';
import type { TurnUsage } from '../pricing';

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: Record<string, unknown>;
}

export interface ToolCallRequest {
  callId: string;
  name: string;
  /** Raw JSON text as the model wrote it (may be invalid). */
  arguments: string;
}

export interface TurnRequest {
  client: OpenAI;
  model: string;
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  history: ConversationItem[];
  tools: readonly ToolDefinition[];
  signal: AbortSignal;
  /** A streamed piece of visible text; `messageId` is new for every message of every attempt. */
  onDelta(messageId: string, text: string): void;
  /** Called for every event received, so a stalled stream can be told from a slow one. */
  onActivity?(): void;
}

export interface ModelTurn {
  /** The assistant's output items in order, to append to the history. */
  items: ConversationItem[];
  /** Complete visible messages of this turn. */
  messages: Array<{ messageId: string; text: string }>;
  /** Reasoning summaries, when the model gave any. */
  reasoning: string[];
  toolCalls: ToolCallRequest[];
  usage: TurnUsage;
}

/** The stream ended or broke before the response was complete: retry the turn. */
export class StreamCutError extends Error {
  override readonly name = 'StreamCutError';
}

/** The endpoint answered with something that is not the API (HTML, non-JSON): retrying won't help. */
export class ModelProtocolError extends Error {
  override readonly name = 'ModelProtocolError';
}

/** The endpoint reported an error inside the stream (response.failed, an error event). */
export class ModelStreamError extends Error {
  override readonly name = 'ModelStreamError';
}

/** A 200 answer that is not an event stream is a proxy page or a misconfigured URL. */
export async function assertEventStream(response: Response): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/event-stream')) return;
  let body = '';
  try {
    body = (await response.text()).replace(/\s+/g, ' ').trim().slice(0, 200);
  } catch {
    // The snippet only helps the reader; the error stands without it.
  }
  throw new ModelProtocolError(
    `The model endpoint answered with ${type || 'no content type'} instead of an event stream — is the base URL an OpenAI-compatible API?${body ? ` It said: ${body}` : ''}`,
  );
}

/** Tool call ids some local servers leave out; the history needs one to pair call and result. */
export function newCallId(): string {
  return `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

export function newMessageId(): string {
  return `msg_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}
