// A scripted OpenAI-compatible model server for tests: POST /v1/responses and
// POST /v1/chat/completions (SSE streaming and plain JSON) on 127.0.0.1, a random port.
//
// Scripts are named. A request picks its script with a marker `[[script:NAME]]` anywhere in its
// first user message ("default" otherwise); the reply it gets is the script's reply step number N,
// where N = the assistant turns already in the request's input. That makes the server stateless for
// replies: concurrent tasks, retries and restarts just work. Transient steps (an `error`, a bare
// `cut`) sit before the reply they delay and are played once each per (script, step).
//
// Programmable in-process (setScript) and over HTTP for other processes:
//   POST /__control/scripts/NAME   body: JSON array of steps
//   GET  /__control/requests       the recorded requests (body + headers)
//   DELETE /__control/requests     forget them
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeToolCall {
  name: string;
  /** A string is sent verbatim (use it for invalid JSON); an object is JSON-encoded. */
  arguments: string | Record<string, unknown>;
  id?: string;
}

export interface StepObject {
  text?: string;
  toolCalls?: FakeToolCall[];
  /** A reasoning summary (Responses: a reasoning item with encrypted content; Chat: reasoning_content). */
  reasoning?: string;
  /** Answer with this HTTP error once, then go on. */
  error?: { status: number; retryAfter?: number; retryAfterMs?: number; body?: unknown };
  /** Alone: send part of a reply and cut the connection, once. With text/toolCalls: cut that reply once, then play it whole. */
  cut?: boolean;
  /** Send this body verbatim (garbage: HTML, non-JSON) with `contentType` (default text/html). */
  raw?: string;
  contentType?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  usage?: Partial<{ input: number; cached: number; output: number; reasoning: number }>;
}

export interface RecordedRequest {
  api: 'responses' | 'chat';
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  script: string;
  /** Assistant turns already in the input = the reply step played. */
  turn: number;
  at: number;
}

export type Step = StepObject | ((request: RecordedRequest) => StepObject);

export interface FakeModelOptions {
  /** Steps of the "default" script. Default: one text reply. */
  defaultScript?: Step[];
  /** When set, requests without `Authorization: Bearer <key>` get a 401. */
  requireApiKey?: string;
}

export interface FakeModel {
  /** e.g. http://127.0.0.1:PORT/v1 — the SDK's baseURL. */
  baseUrl: string;
  controlUrl: string;
  setScript(name: string, steps: Step[]): void;
  /** Every model request so far, oldest first. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const MARKER = /\[\[script:([A-Za-z0-9_.-]+)\]\]/;

function isTransient(step: Step): boolean {
  return typeof step !== 'function' && (step.error !== undefined || (step.cut === true && !step.text && !step.toolCalls && step.raw === undefined));
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('');
  return '';
}

/** The first user message's text and the number of assistant turns in a request body. */
export function inspectRequest(api: 'responses' | 'chat', body: Record<string, unknown>): { firstUser: string; turns: number } {
  if (api === 'chat') {
    const messages = (body.messages as Array<{ role: string; content: unknown }> | undefined) ?? [];
    const first = messages.find((m) => m.role === 'user');
    return { firstUser: textOf(first?.content), turns: messages.filter((m) => m.role === 'assistant').length };
  }
  const input = body.input;
  if (typeof input === 'string') return { firstUser: input, turns: 0 };
  const items = (input as Array<{ type?: string; role?: string; content?: unknown }> | undefined) ?? [];
  const first = items.find((i) => i.role === 'user');
  // One turn = a run of consecutive output items (reasoning, assistant message, function calls).
  let turns = 0;
  let inTurn = false;
  for (const item of items) {
    const assistant = item.type === 'function_call' || item.type === 'reasoning' || item.role === 'assistant';
    if (assistant && !inTurn) turns++;
    inTurn = assistant;
  }
  return { firstUser: textOf(first?.content), turns };
}

function args(call: FakeToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
}

function pieces(text: string, size = 16): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

function usageFor(body: Record<string, unknown>, step: StepObject) {
  const promptChars = JSON.stringify(body.input ?? body.messages ?? '').length + (typeof body.instructions === 'string' ? body.instructions : '').length;
  const outChars = (step.text ?? '').length + (step.toolCalls ?? []).reduce((n, c) => n + args(c).length, 0);
  const reasoning = step.usage?.reasoning ?? (step.reasoning ? Math.ceil(step.reasoning.length / 4) : 0);
  return {
    input: step.usage?.input ?? Math.ceil(promptChars / 4),
    cached: step.usage?.cached ?? 0,
    output: step.usage?.output ?? Math.ceil(outChars / 4) + 1 + reasoning,
    reasoning,
  };
}

/** Responses API: the SSE events of one reply, and the final response object. */
function responsesReply(body: Record<string, unknown>, step: StepObject, id: string) {
  const events: Array<Record<string, unknown>> = [];
  const output: Array<Record<string, unknown>> = [];
  const model = typeof body.model === 'string' ? body.model : 'fake';
  const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model, output: [], usage: null, status: 'in_progress' };
  events.push({ type: 'response.created', response: base });
  const add = (item: Record<string, unknown>, start: Record<string, unknown>, middle: Array<Record<string, unknown>>) => {
    const output_index = output.length;
    events.push({ type: 'response.output_item.added', output_index, item: start });
    for (const e of middle) events.push({ ...e, output_index, item_id: item.id });
    events.push({ type: 'response.output_item.done', output_index, item });
    output.push(item);
  };
  if (step.reasoning) {
    const item = {
      id: `rs_${id}`,
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: step.reasoning }],
      encrypted_content: `enc:${Buffer.from(step.reasoning).toString('base64')}`,
    };
    add(item, { ...item, summary: [], encrypted_content: null }, [
      ...pieces(step.reasoning).map((delta) => ({ type: 'response.reasoning_summary_text.delta', summary_index: 0, delta })),
      { type: 'response.reasoning_summary_text.done', summary_index: 0, text: step.reasoning },
    ]);
  }
  if (step.text) {
    const part = { type: 'output_text', text: step.text, annotations: [] };
    const item = { id: `msg_${id}`, type: 'message', role: 'assistant', status: 'completed', content: [part] };
    add(item, { ...item, status: 'in_progress', content: [] }, [
      { type: 'response.content_part.added', content_index: 0, part: { ...part, text: '' } },
      ...pieces(step.text).map((delta) => ({ type: 'response.output_text.delta', content_index: 0, delta, logprobs: [] })),
      { type: 'response.output_text.done', content_index: 0, text: step.text, logprobs: [] },
      { type: 'response.content_part.done', content_index: 0, part },
    ]);
  }
  for (const [n, call] of (step.toolCalls ?? []).entries()) {
    const a = args(call);
    const item = { id: `fc_${id}_${n}`, type: 'function_call', status: 'completed', call_id: call.id ?? `call_${id}_${n}`, name: call.name, arguments: a };
    add(item, { ...item, status: 'in_progress', arguments: '' }, [
      ...pieces(a).map((delta) => ({ type: 'response.function_call_arguments.delta', delta })),
      { type: 'response.function_call_arguments.done', arguments: a },
    ]);
  }
  const u = usageFor(body, step);
  const usage = {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cached },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
  const final = { ...base, status: 'completed', output, usage };
  events.push({ type: 'response.completed', response: final });
  return { events: events.map((e, sequence_number): Record<string, unknown> => ({ ...e, sequence_number })), final };
}

/** Chat Completions: the chunks of one reply, and the non-streaming completion. */
function chatReply(body: Record<string, unknown>, step: StepObject, id: string) {
  const model = typeof body.model === 'string' ? body.model : 'fake';
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
    id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason, logprobs: null }],
  });
  const calls = (step.toolCalls ?? []).map((c, n) => ({ id: c.id ?? `call_${id}_${n}`, type: 'function', function: { name: c.name, arguments: args(c) } }));
  const chunks: Array<Record<string, unknown>> = [chunk({ role: 'assistant', content: '' })];
  for (const r of pieces(step.reasoning ?? '')) chunks.push(chunk({ reasoning_content: r }));
  for (const t of pieces(step.text ?? '')) chunks.push(chunk({ content: t }));
  calls.forEach((c, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }));
    for (const a of pieces(c.function.arguments)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: a } }] }));
  });
  const finish = calls.length ? 'tool_calls' : 'stop';
  chunks.push(chunk({}, finish));
  const u = usageFor(body, step);
  const usage = {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached },
    completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
  const message = { role: 'assistant', content: step.text ?? null, ...(calls.length ? { tool_calls: calls } : {}) };
  const completion = { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage };
  return { chunks, usageChunk: { id, object: 'chat.completion.chunk', created, model, choices: [], usage }, completion };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const scripts = new Map<string, Step[]>([['default', options.defaultScript ?? [{ text: 'Done.' }]]]);
  const played = new Set<string>();
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const setScript = (name: string, steps: Step[]) => {
    scripts.set(name, steps);
    for (const key of [...played]) if (key.startsWith(`${name}#`)) played.delete(key);
  };

  /** The step to play now; transient steps are marked played as they are picked. */
  const pick = (request: RecordedRequest): StepObject => {
    const steps = scripts.get(request.script) ?? [];
    let reply = -1;
    let segmentStart = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (isTransient(step)) continue;
      reply++;
      if (reply === request.turn) {
        for (let k = segmentStart; k < i; k++) {
          const key = `${request.script}#${k}`;
          if (!played.has(key)) {
            played.add(key);
            return steps[k] as StepObject;
          }
        }
        const resolved = typeof step === 'function' ? step(request) : step;
        const cutKey = `${request.script}#${i}:cut`;
        if (resolved.cut && !played.has(cutKey)) {
          played.add(cutKey);
          return resolved;
        }
        return { ...resolved, cut: false };
      }
      segmentStart = i + 1;
    }
    // Transient steps after the last reply delay the turn after it.
    if (reply + 1 === request.turn) {
      for (let k = segmentStart; k < steps.length; k++) {
        const key = `${request.script}#${k}`;
        if (!played.has(key)) {
          played.add(key);
          return steps[k] as StepObject;
        }
      }
    }
    return { text: `[fake model] script "${request.script}" has no reply step ${request.turn}.` };
  };

  const serveModel = async (api: 'responses' | 'chat', req: IncomingMessage, res: ServerResponse) => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error', code: null, param: null } });
    }
    const { firstUser, turns } = inspectRequest(api, body);
    const request: RecordedRequest = {
      api, path: req.url ?? '', headers: { ...req.headers }, body, script: MARKER.exec(firstUser)?.[1] ?? 'default', turn: turns, at: Date.now(),
    };
    requests.push(request);
    if (options.requireApiKey && req.headers.authorization !== `Bearer ${options.requireApiKey}`) {
      return json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
    }
    const step = pick(request);
    if (step.delayMs) {
      const gone = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), step.delayMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (gone) return;
    }
    if (step.error) {
      const headers: Record<string, string> = {};
      if (step.error.retryAfter !== undefined) headers['retry-after'] = String(step.error.retryAfter);
      if (step.error.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.error.retryAfterMs);
      const type = step.error.status === 429 ? 'rate_limit_error' : 'server_error';
      return json(res, step.error.status, step.error.body ?? { error: { message: `scripted ${step.error.status}`, type, code: null, param: null } }, headers);
    }
    if (step.raw !== undefined) {
      res.writeHead(200, { 'content-type': step.contentType ?? 'text/html' });
      return res.end(step.raw);
    }
    const id = `${Date.now().toString(36)}${(counter++).toString(36)}`;
    const reply = step.cut && !step.text && !step.toolCalls ? { ...step, text: 'Let me look at the repository first and then' } : step;
    const stream = body.stream === true;
    if (!stream) {
      return json(res, 200, api === 'chat' ? chatReply(body, reply, id).completion : responsesReply(body, reply, id).final);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const frames =
      api === 'chat'
        ? (() => {
            const r = chatReply(body, reply, id);
            const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage;
            return [...r.chunks, ...(withUsage ? [r.usageChunk] : [])].map((c) => `data: ${JSON.stringify(c)}\n\n`).concat('data: [DONE]\n\n');
          })()
        : responsesReply(body, reply, id).events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
    if (step.cut) {
      // Half the reply, then the connection drops without the end of the stream.
      res.write(frames.slice(0, Math.max(2, Math.floor(frames.length / 2))).join(''));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(frames.join(''));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = `${req.method} ${url.pathname}`;
    const handle = async () => {
      if (route === 'POST /v1/responses') return serveModel('responses', req, res);
      if (route === 'POST /v1/chat/completions') return serveModel('chat', req, res);
      if (route === 'GET /v1/models') return json(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }] });
      if (route === 'GET /__control/requests') return json(res, 200, requests);
      if (route === 'DELETE /__control/requests') {
        requests.length = 0;
        return json(res, 200, { ok: true });
      }
      const scriptName = /^\/__control\/scripts\/([A-Za-z0-9_.-]+)$/.exec(url.pathname)?.[1];
      if (req.method === 'POST' && scriptName) {
        const parsed = JSON.parse(await readBody(req)) as unknown;
        const steps = Array.isArray(parsed) ? parsed : (parsed as { steps?: unknown }).steps;
        if (!Array.isArray(steps)) return json(res, 400, { error: { message: 'expected a JSON array of steps' } });
        setScript(scriptName, steps as StepObject[]);
        return json(res, 200, { ok: true, steps: steps.length });
      }
      return json(res, 404, { error: { message: `no route ${route}`, type: 'invalid_request_error', code: null, param: null } });
    };
    handle().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: { message: `fake model: ${String(err)}` } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    controlUrl: `${origin}/__control`,
    setScript,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
