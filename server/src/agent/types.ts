// The agent loop's contract with its host (the task runner). The loop knows no HTTP, store or UI:
// it reports through callbacks and reads user input through the host.
import type OpenAI from 'openai';
import type { NewEvent, Selection, TaskError, TaskLimits, TestResult, Usage } from '../../../protocol';
import type { Sandbox } from '../sandbox/types';
import type { Workspace } from '../workspace/types';

/** Wire-neutral conversation items, persisted between runs so follow-ups continue the conversation. */
export type ConversationItem =
  | { type: 'message'; role: 'system' | 'user' | 'assistant'; text: string }
  | { type: 'tool_call'; callId: string; name: string; arguments: string }
  | { type: 'tool_result'; callId: string; output: string }
  | { type: 'reasoning'; encrypted?: string; summary?: string; id?: string };

/**
 * Events the agent emits; the host adds taskId/attempt and stores them (seq, at). A warning's code
 * is one of the task codes (protocol/errors.ts), checked here rather than trusted as a string.
 */
export type AgentEvent = Exclude<DistributiveOmit<NewEvent, 'taskId'>, { type: 'warning' }> | (Omit<Extract<NewEvent, { type: 'warning' }>, 'taskId' | 'error'> & { error: TaskError });
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface AgentHost {
  emit(event: AgentEvent): void;
  /** Messages the user sent while the agent worked (steering), oldest first; consumed (read from the store). */
  takeUserMessages(): string[] | Promise<string[]>;
  /** Ask the user; resolves with the answer. Rejects with an AbortError when the task is cancelled. */
  ask(question: string, signal: AbortSignal): Promise<string>;
  /** Cumulative usage of this run, after every model response. */
  onUsage(usage: Usage): void;
  /**
   * After every tool call that may have changed files (the host records them and emits
   * diff.updated). `turnEnds`: no later call of this turn changes files, so the work is as the turn
   * leaves it (the host keeps it as a checkpoint).
   */
  onFilesChanged(turnEnds?: boolean): Promise<void>;
  /**
   * A tool call that may change files starts now (nothing waits for the host): a record of the
   * previous turn's end that reads the view only after this may hold this turn's changes.
   */
  beforeChanges?(): void;
  /**
   * The conversation so far, complete (every tool call answered), before each model request: the
   * host keeps it so a run the server did not survive can still be continued.
   */
  onHistory?(history: ConversationItem[]): void;
}

export interface AgentRunInput {
  client: OpenAI;
  model: string;
  wireApi: 'responses' | 'chat';
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  /** The task prompt (first run) or the follow-up text (later runs). */
  prompt: string;
  selection?: Selection;
  /** Conversation so far (empty on the first run). */
  history: ConversationItem[];
  limits: Required<TaskLimits>;
  /** The agent's commands may use the network (the task option `network: 'on'`); the prompt says so. */
  network?: boolean;
  sandbox: Sandbox;
  workspace: Workspace;
  signal: AbortSignal;
  /** Usage before this run (follow-ups add to it). */
  usageSoFar: Usage;
}

export interface AgentOutcome {
  status: 'completed' | 'failed' | 'cancelled';
  summary?: string;
  testResult?: TestResult;
  error?: TaskError;
  /** The whole conversation including this run, to persist. */
  history: ConversationItem[];
  usage: Usage;
}

export const DEFAULT_AGENT_LIMITS: Required<TaskLimits> = {
  maxTurns: 60,
  maxWallTimeMs: 30 * 60_000,
  maxTokens: 2_000_000,
  commandTimeoutMs: 120_000,
};
