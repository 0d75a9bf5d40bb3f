// The agent: a loop over the official openai SDK (Responses API or Chat Completions) whose tools act
// on the task's sandbox and workspace. See loop.ts for the run itself.
import { AgentRun } from './loop';
import type { AgentHost, AgentOutcome, AgentRunInput } from './types';

export type { AgentEvent, AgentHost, AgentOutcome, AgentRunInput, ConversationItem } from './types';
export { DEFAULT_AGENT_LIMITS } from './types';
export { buildSystemPrompt, buildTaskMessage, loadAgentsFiles, type AgentsFile } from './prompt';
export { estimateCostUsd, combineUsage, type TurnUsage } from './pricing';
export { TOOLS, toolDefinitions } from './tools';
export { MAX_MODEL_ATTEMPTS } from './modelCall';

/**
 * Run the agent until it finishes, fails or `input.signal` aborts. Never throws for model, tool or
 * limit failures: they come back as the outcome's status and error, with the history kept.
 */
export function runAgent(input: AgentRunInput, host: AgentHost): Promise<AgentOutcome> {
  return new AgentRun(input, host).run();
}
