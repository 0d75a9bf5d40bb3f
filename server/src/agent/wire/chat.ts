// Chat Completions, the API every OpenAI-compatible server speaks (vLLM, Ollama, llama.cpp).
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import type { ConversationItem } from '../types';
import { emptyTurnUsage } from '../pricing';
import {
  assertEventStream,
  ModelProtocolError,
  newCallId,
  newMessageId,
  StreamCutError,
  type ModelTurn,
  type ToolDefinition,
  type TurnRequest,
} from './turn';

/** An assistant message followed by its tool calls becomes one assistant message with tool_calls. */
export function toChatMessages(items: ConversationItem[]): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = [];
  let assistant: { text: string | null; calls: ChatCompletionMessageToolCall[] } | null = null;
  const flush = () => {
    if (!assistant) return;
    out.push({
      role: 'assistant',
      content: assistant.text ?? (assistant.calls.length ? null : ''),
      ...(assistant.calls.length ? { tool_calls: assistant.calls } : {}),
    });
    assistant = null;
  };
  for (const item of items) {
    switch (item.type) {
      case 'message':
        if (item.role === 'assistant') {
          // Two assistant messages in a row are two turns.
          if (assistant && (assistant.text !== null || assistant.calls.length)) flush();
          assistant = { text: item.text, calls: [] };
        } else {
          flush();
          out.push({ role: item.role, content: item.text });
        }
        break;
      case 'tool_call':
        assistant ??= { text: null, calls: [] };
        assistant.calls.push({ id: item.callId, type: 'function', function: { name: item.name, arguments: item.arguments } });
        break;
      case 'tool_result':
        flush();
        out.push({ role: 'tool', tool_call_id: item.callId, content: item.output });
        break;
      case 'reasoning':
        // Chat Completions has no way to carry reasoning back.
        break;
      default: {
        const never: never = item;
        throw new Error(`unknown conversation item ${JSON.stringify(never)}`);
      }
    }
  }
  flush();
  return out;
}

export function toChatTools(tools: readonly ToolDefinition[]): ChatCompletionTool[] {
  return tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
}

interface PartialCall {
  id?: string;
  name: string;
  arguments: string;
}

export async function streamChatTurn(req: TurnRequest): Promise<ModelTurn> {
  const { data: stream, response } = await req.client.chat.completions
    .create(
      {
        model: req.model,
        messages: toChatMessages(req.history),
        tools: toChatTools(req.tools),
        stream: true,
        stream_options: { include_usage: true },
        ...(req.reasoningEffort ? { reasoning_effort: req.reasoningEffort } : {}),
      },
      { signal: req.signal, maxRetries: 0 },
    )
    .withResponse();
  await assertEventStream(response);

  const turn: ModelTurn = { items: [], messages: [], reasoning: [], toolCalls: [], usage: emptyTurnUsage() };
  const messageId = newMessageId();
  let text = '';
  let reasoning = '';
  const calls = new Map<number, PartialCall>();
  let chunks = 0;
  let finished = false;
  for await (const chunk of stream as AsyncIterable<ChatCompletionChunk>) {
    chunks++;
    req.onActivity?.();
    if (chunk.usage) {
      turn.usage = {
        input: chunk.usage.prompt_tokens ?? 0,
        cached: chunk.usage.prompt_tokens_details?.cached_tokens ?? 0,
        output: chunk.usage.completion_tokens ?? 0,
        reasoning: chunk.usage.completion_tokens_details?.reasoning_tokens ?? 0,
      };
    }
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta ?? {};
    if (delta.content) {
      text += delta.content;
      req.onDelta(messageId, delta.content);
    }
    // vLLM, Ollama and llama.cpp stream reasoning under one of these non-standard names.
    const extra = delta as { reasoning_content?: string | null; reasoning?: string | null };
    reasoning += extra.reasoning_content ?? extra.reasoning ?? '';
    for (const tc of delta.tool_calls ?? []) {
      const call = calls.get(tc.index) ?? { name: '', arguments: '' };
      if (tc.id) call.id = tc.id;
      if (tc.function?.name) call.name += tc.function.name;
      if (tc.function?.arguments) call.arguments += tc.function.arguments;
      calls.set(tc.index, call);
    }
    if (choice.finish_reason) finished = true;
  }
  if (req.signal.aborted) throw req.signal.reason ?? new Error('aborted');
  if (!finished) {
    if (chunks === 0) throw new ModelProtocolError('The model endpoint sent an empty event stream.');
    throw new StreamCutError(`The model's response stream ended before it was complete (after ${chunks} chunks).`);
  }
  if (reasoning.trim()) turn.reasoning.push(reasoning.trim());
  if (text) {
    turn.items.push({ type: 'message', role: 'assistant', text });
    turn.messages.push({ messageId, text });
  }
  for (const [, call] of [...calls.entries()].sort((a, b) => a[0] - b[0])) {
    const callId = call.id ?? newCallId();
    turn.items.push({ type: 'tool_call', callId, name: call.name, arguments: call.arguments });
    turn.toolCalls.push({ callId, name: call.name, arguments: call.arguments });
  }
  return turn;
}
