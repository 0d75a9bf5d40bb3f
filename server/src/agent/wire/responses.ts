// The Responses API: stateless (store: false), so every request carries the whole conversation,
// including encrypted reasoning items that let reasoning models continue their chain of thought.
import type {
  ResponseInputItem,
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseUsage,
  FunctionTool,
} from 'openai/resources/responses/responses';
import type { ConversationItem } from '../types';
import { emptyTurnUsage, type TurnUsage } from '../pricing';
import {
  assertEventStream,
  ModelStreamError,
  newMessageId,
  StreamCutError,
  ModelProtocolError,
  type ModelTurn,
  type ToolDefinition,
  type TurnRequest,
} from './turn';

export function toResponsesInput(items: ConversationItem[]): { instructions?: string; input: ResponseInputItem[] } {
  const instructions: string[] = [];
  const input: ResponseInputItem[] = [];
  for (const item of items) {
    switch (item.type) {
      case 'message':
        if (item.role === 'system') instructions.push(item.text);
        else input.push({ type: 'message', role: item.role, content: item.text });
        break;
      case 'tool_call':
        input.push({ type: 'function_call', call_id: item.callId, name: item.name, arguments: item.arguments });
        break;
      case 'tool_result':
        input.push({ type: 'function_call_output', call_id: item.callId, output: item.output });
        break;
      case 'reasoning':
        // Without store, only the encrypted form can be sent back; ids refer to stored items and
        // must be left out.
        if (item.encrypted) {
          input.push({
            type: 'reasoning',
            summary: item.summary ? [{ type: 'summary_text', text: item.summary }] : [],
            encrypted_content: item.encrypted,
          } as unknown as ResponseInputItem);
        }
        break;
      default: {
        const never: never = item;
        throw new Error(`unknown conversation item ${JSON.stringify(never)}`);
      }
    }
  }
  return { instructions: instructions.length ? instructions.join('\n\n') : undefined, input };
}

export function toResponsesTools(tools: readonly ToolDefinition[]): FunctionTool[] {
  return tools.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: t.parameters, strict: false }));
}

/** Reasoning models need their encrypted reasoning back when nothing is stored server-side. */
function wantsEncryptedReasoning(model: string, effort: string | undefined): boolean {
  return effort !== undefined || /^(o\d|gpt-5|codex)/i.test(model.replace(/^.*\//, ''));
}

function usageOf(u: ResponseUsage | null | undefined): TurnUsage {
  if (!u) return emptyTurnUsage();
  return {
    input: u.input_tokens ?? 0,
    cached: u.input_tokens_details?.cached_tokens ?? 0,
    output: u.output_tokens ?? 0,
    reasoning: u.output_tokens_details?.reasoning_tokens ?? 0,
  };
}

export async function streamResponsesTurn(req: TurnRequest): Promise<ModelTurn> {
  const { instructions, input } = toResponsesInput(req.history);
  const { data: stream, response } = await req.client.responses
    .create(
      {
        model: req.model,
        instructions,
        input,
        tools: toResponsesTools(req.tools),
        store: false,
        stream: true,
        ...(req.reasoningEffort ? { reasoning: { effort: req.reasoningEffort, summary: 'auto' as const } } : {}),
        ...(wantsEncryptedReasoning(req.model, req.reasoningEffort) ? { include: ['reasoning.encrypted_content' as const] } : {}),
      },
      { signal: req.signal, maxRetries: 0 },
    )
    .withResponse();
  await assertEventStream(response);

  const turn: ModelTurn = { items: [], messages: [], reasoning: [], toolCalls: [], usage: emptyTurnUsage() };
  const messageIds = new Map<string, string>();
  const idFor = (itemId: string) => {
    let id = messageIds.get(itemId);
    if (!id) messageIds.set(itemId, (id = newMessageId()));
    return id;
  };
  const doneItems: ResponseOutputItem[] = [];
  let events = 0;
  let completed = false;
  for await (const event of stream as AsyncIterable<ResponseStreamEvent>) {
    events++;
    req.onActivity?.();
    switch (event.type) {
      case 'response.output_text.delta':
        if (event.delta) req.onDelta(idFor(event.item_id), event.delta);
        break;
      case 'response.output_item.done':
        doneItems.push(event.item);
        break;
      case 'response.completed':
      case 'response.incomplete':
        // An incomplete response (output token cap) still carries usable items.
        completed = true;
        turn.usage = usageOf(event.response.usage);
        if (doneItems.length === 0) doneItems.push(...(event.response.output ?? []));
        break;
      case 'response.failed':
        throw new ModelStreamError(`The model response failed: ${event.response.error?.message ?? 'no reason given'}`);
      case 'error':
        throw new ModelStreamError(`The model endpoint reported an error: ${event.message}`);
      default:
        break;
    }
  }
  if (req.signal.aborted) throw req.signal.reason ?? new Error('aborted');
  if (!completed) {
    if (events === 0) throw new ModelProtocolError('The model endpoint sent an empty event stream.');
    throw new StreamCutError(`The model's response stream ended before it was complete (after ${events} events).`);
  }
  for (const item of doneItems) collectItem(item, turn, idFor);
  return turn;
}

function collectItem(item: ResponseOutputItem, turn: ModelTurn, idFor: (itemId: string) => string): void {
  if (item.type === 'message') {
    const text = item.content
      .map((part) => (part.type === 'output_text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
      .join('');
    if (!text) return;
    turn.items.push({ type: 'message', role: 'assistant', text });
    turn.messages.push({ messageId: idFor(item.id ?? newMessageId()), text });
  } else if (item.type === 'function_call') {
    turn.items.push({ type: 'tool_call', callId: item.call_id, name: item.name, arguments: item.arguments });
    turn.toolCalls.push({ callId: item.call_id, name: item.name, arguments: item.arguments });
  } else if (item.type === 'reasoning') {
    const summary = item.summary.map((s) => s.text).join('\n\n');
    if (summary) turn.reasoning.push(summary);
    turn.items.push({
      type: 'reasoning',
      id: item.id,
      ...(summary ? { summary } : {}),
      ...(item.encrypted_content ? { encrypted: item.encrypted_content } : {}),
    });
  }
  // Built-in tool items (web search etc.) are never requested, so there is nothing else to keep.
}
