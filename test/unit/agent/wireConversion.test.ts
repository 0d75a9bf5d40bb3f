import assert from 'node:assert/strict';
import type { ConversationItem } from '../../../server/src/agent/types';
import { toChatMessages } from '../../../server/src/agent/wire/chat';
import { toResponsesInput } from '../../../server/src/agent/wire/responses';

const history: ConversationItem[] = [
  { type: 'message', role: 'system', text: 'be careful' },
  { type: 'message', role: 'user', text: 'do it' },
  { type: 'reasoning', id: 'rs_1', summary: 'thinking', encrypted: 'ENC' },
  { type: 'reasoning', id: 'rs_2', summary: 'no encrypted form' },
  { type: 'message', role: 'assistant', text: 'Looking.' },
  { type: 'tool_call', callId: 'c1', name: 'shell', arguments: '{"command":"ls"}' },
  { type: 'tool_call', callId: 'c2', name: 'read_file', arguments: '{"path":"a"}' },
  { type: 'tool_result', callId: 'c1', output: 'a\nb' },
  { type: 'tool_result', callId: 'c2', output: '1\tx' },
  { type: 'message', role: 'assistant', text: 'Done?' },
  { type: 'message', role: 'user', text: 'continue' },
];

describe('agent conversation conversion', () => {
  it('maps to Responses input: system as instructions, encrypted reasoning without ids, calls and outputs', () => {
    const { instructions, input } = toResponsesInput(history);
    assert.equal(instructions, 'be careful');
    assert.deepEqual(input, [
      { type: 'message', role: 'user', content: 'do it' },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }], encrypted_content: 'ENC' },
      { type: 'message', role: 'assistant', content: 'Looking.' },
      { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{"command":"ls"}' },
      { type: 'function_call', call_id: 'c2', name: 'read_file', arguments: '{"path":"a"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'a\nb' },
      { type: 'function_call_output', call_id: 'c2', output: '1\tx' },
      { type: 'message', role: 'assistant', content: 'Done?' },
      { type: 'message', role: 'user', content: 'continue' },
    ]);
  });

  it('maps to Chat messages: text and tool calls of one turn in one assistant message', () => {
    assert.deepEqual(toChatMessages(history), [
      { role: 'system', content: 'be careful' },
      { role: 'user', content: 'do it' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'shell', arguments: '{"command":"ls"}' } },
          { id: 'c2', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'a\nb' },
      { role: 'tool', tool_call_id: 'c2', content: '1\tx' },
      { role: 'assistant', content: 'Done?' },
      { role: 'user', content: 'continue' },
    ]);
  });

  it('gives tool calls without text a null content', () => {
    const messages = toChatMessages([{ type: 'tool_call', callId: 'x', name: 'finish', arguments: '{}' }]);
    assert.deepEqual(messages, [{ role: 'assistant', content: null, tool_calls: [{ id: 'x', type: 'function', function: { name: 'finish', arguments: '{}' } }] }]);
  });
});
