// The agent loop: ask the model, run the tools it calls, repeat until it finishes, a limit is hit
// or the run is stopped. It knows no HTTP, store or UI: everything goes through the host.
// One AbortController stops everything in flight (model stream, command, pending question); the
// history is kept valid on every exit so a follow-up can continue the conversation.
import type { TaskError, TaskErrorCode, TestResult, Usage } from '../../../protocol';
import { Scrubber } from '../log';
import { callModel } from './modelCall';
import { addTurnUsage, combineUsage, emptyTurnUsage, type TurnUsage } from './pricing';
import { buildSystemPrompt, buildTaskMessage, loadAgentsFiles, loopWarning, NUDGE_AFTER_EMPTY, NUDGE_AFTER_TEXT } from './prompt';
import { LOOP_ROUNDS, RepeatGuard } from './repeatGuard';
import { parseArgsForDisplay, prepareCall, runPrepared, toolDefinitions, toolMap, type ToolOutcome } from './tools';
import type { AgentEvent, AgentHost, AgentOutcome, AgentRunInput, ConversationItem } from './types';
import type { ModelTurn, ToolCallRequest } from './wire/turn';

const EMPTY_REPLY = '(empty reply)';

type StopReason = 'cancelled' | 'time_limit';

export class AgentRun {
  private readonly history: ConversationItem[];
  private readonly scrubber = new Scrubber();
  private readonly tools = toolMap();
  private readonly definitions = toolDefinitions();
  private readonly guard = new RepeatGuard();
  private readonly controller = new AbortController();
  private stopReason: StopReason | undefined;
  private runUsage: TurnUsage = emptyTurnUsage();
  private usage: Usage;
  private turns = 0;
  private noToolStreak = 0;
  private streakText = '';

  constructor(
    private readonly input: AgentRunInput,
    private readonly host: AgentHost,
  ) {
    this.history = [...input.history];
    this.usage = input.usageSoFar;
    this.scrubber.add(input.client.apiKey ?? undefined);
  }

  async run(): Promise<AgentOutcome> {
    const onAbort = () => this.stop('cancelled');
    this.input.signal.addEventListener('abort', onAbort, { once: true });
    if (this.input.signal.aborted) onAbort();
    const timer = setTimeout(() => this.stop('time_limit'), this.input.limits.maxWallTimeMs);
    try {
      return await this.loop();
    } catch (err) {
      // A bug in the harness: keep the conversation so the work is not lost.
      if (this.stopReason) return this.stopped();
      const message = err instanceof Error ? `${err.message}` : String(err);
      return this.fail('internal', `The agent failed unexpectedly: ${message}`);
    } finally {
      clearTimeout(timer);
      this.input.signal.removeEventListener('abort', onAbort);
    }
  }

  private stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.controller.abort(new DOMException(reason, 'AbortError'));
  }

  private emit(event: AgentEvent): void {
    this.host.emit(event);
  }

  /** A problem the user should see while the run goes on. */
  private warn(error: TaskError): void {
    this.emit({ type: 'warning', error });
  }

  private async loop(): Promise<AgentOutcome> {
    await this.openConversation();
    const { limits } = this.input;
    for (;;) {
      if (this.controller.signal.aborted) return this.stopped();
      if (this.turns >= limits.maxTurns) {
        return this.fail('turn_limit', `Stopped after ${this.turns} model turns: the task's turn limit is ${limits.maxTurns}.`);
      }
      const tokens = this.runUsage.input + this.runUsage.output;
      if (tokens >= limits.maxTokens) {
        return this.fail('token_limit', `Stopped after using ${tokens} tokens in this run: the task's token limit is ${limits.maxTokens}.`);
      }
      for (const text of await this.host.takeUserMessages()) this.history.push({ type: 'message', role: 'user', text });
      this.host.onHistory?.([...this.history]);

      const result = await callModel({
        wireApi: this.input.wireApi,
        scrubber: this.scrubber,
        request: {
          client: this.input.client,
          model: this.input.model,
          reasoningEffort: this.input.reasoningEffort,
          history: this.history,
          tools: this.definitions,
          signal: this.controller.signal,
          onDelta: (messageId, text) => this.emit({ type: 'agent.delta', messageId, text }),
        },
        onRetry: ({ attempt, delayMs, message, cut }) =>
          this.warn({
            code: cut ? 'model_stream_cut' : 'model_retry',
            message: `${cut ? 'The model reply was cut off; its partial text is discarded' : 'The model request failed'} (${message}). Retrying in ${(delayMs / 1000).toFixed(1)} s (retry ${attempt}).`,
          }),
      });
      if (!result.ok) return result.aborted ? this.stopped() : this.fail('model_error', result.message);
      this.recordTurn(result.turn);

      const end = result.turn.toolCalls.length === 0 ? this.afterReplyWithoutTools(result.turn) : await this.runToolCalls(result.turn.toolCalls);
      if (end) return end;
    }
  }

  private async openConversation(): Promise<void> {
    const { prompt, selection } = this.input;
    if (this.history.length === 0) {
      const agentsFiles = await loadAgentsFiles(this.input.workspace.files, selection?.path);
      this.history.push({ type: 'message', role: 'system', text: buildSystemPrompt(agentsFiles, { network: this.input.network ?? false }) });
      this.history.push({ type: 'message', role: 'user', text: buildTaskMessage(prompt, selection) });
    } else {
      const text = selection ? buildTaskMessage(prompt, selection).replace(/^Task:\n/, '') : prompt;
      this.history.push({ type: 'message', role: 'user', text });
    }
  }

  private recordTurn(turn: ModelTurn): void {
    this.turns++;
    this.runUsage = addTurnUsage(this.runUsage, turn.usage);
    this.usage = combineUsage(this.input.usageSoFar, this.input.model, this.runUsage, this.turns);
    this.emit({ type: 'usage', usage: this.usage });
    this.host.onUsage(this.usage);
    for (const text of turn.reasoning) this.emit({ type: 'agent.reasoning', text });
    for (const m of turn.messages) this.emit({ type: 'agent.message', messageId: m.messageId, text: m.text });
    this.history.push(...turn.items);
  }

  /** Text only: nudge once; two replies in a row without a tool call end the run. */
  private afterReplyWithoutTools(turn: ModelTurn): AgentOutcome | null {
    if (!turn.items.some((i) => i.type === 'message' && i.role === 'assistant')) {
      // Keeps the turn in the history (some endpoints refuse empty content, hence the placeholder).
      this.history.push({ type: 'message', role: 'assistant', text: EMPTY_REPLY });
    }
    const text = turn.messages.map((m) => m.text).join('\n\n').trim();
    this.noToolStreak++;
    if (text) this.streakText = text;
    if (this.noToolStreak >= 2) {
      if (this.streakText) return this.complete(this.streakText);
      return this.fail('model_error', 'The model replied twice in a row with neither text nor a tool call.');
    }
    this.history.push({ type: 'message', role: 'user', text: text ? NUDGE_AFTER_TEXT : NUDGE_AFTER_EMPTY });
    return null;
  }

  private async runToolCalls(calls: ToolCallRequest[]): Promise<AgentOutcome | null> {
    this.noToolStreak = 0;
    this.streakText = '';
    // After the turn's last file-changing call its work is what the turn leaves (a checkpoint).
    const lastChanging = calls.findLastIndex((c) => this.tools.get(c.name)?.changesFiles === true);
    let changed = false;
    for (const [k, call] of calls.entries()) {
      if (this.controller.signal.aborted) return this.stopped();
      const check = this.guard.check(call.name, call.arguments);
      if (check.verdict === 'stop') {
        const what =
          check.period === 1
            ? `called ${call.name} with the same arguments and the same result ${LOOP_ROUNDS} times in a row`
            : `repeated the same ${check.period} calls with the same results ${LOOP_ROUNDS} times over`;
        return this.fail(
          'loop_detected',
          `The agent ${what}, was warned, and went on; stopped to save time and tokens.`,
          'not run: the same calls were repeated too often',
        );
      }
      this.emit({ type: 'tool.call', callId: call.callId, name: call.name, args: parseArgsForDisplay(call.arguments) });
      if (this.tools.get(call.name)?.changesFiles) this.host.beforeChanges?.();
      const started = performance.now();
      const { outcome, changesFiles } = await this.execute(call);
      const loop = this.guard.record(call.name, call.arguments, outcome.ok, outcome.output);
      const output = loop.verdict === 'warn' ? outcome.output + loopWarning(loop.period, LOOP_ROUNDS, loop.calls) : outcome.output;
      this.emit({
        type: 'tool.result',
        callId: call.callId,
        name: call.name,
        ok: outcome.ok,
        output,
        ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
        durationMs: Math.round(performance.now() - started),
      });
      this.history.push({ type: 'tool_result', callId: call.callId, output });
      changed ||= changesFiles;
      // The last one may have changed nothing (bad arguments): the turn's earlier changes still end it.
      if (changesFiles || (changed && k === lastChanging)) await this.filesChanged(k === lastChanging);
      if (outcome.aborted || this.controller.signal.aborted) return this.stopped();
      if (outcome.finish) return this.complete(outcome.finish.summary, outcome.finish.testResult);
    }
    return null;
  }

  private async execute(call: ToolCallRequest): Promise<{ outcome: ToolOutcome; changesFiles: boolean }> {
    const prepared = prepareCall(this.tools, call.name, call.arguments);
    if (!prepared.ok) return { outcome: { ok: false, output: prepared.output }, changesFiles: false };
    const ctx = {
      callId: call.callId,
      sandbox: this.input.sandbox,
      files: this.input.workspace.files,
      signal: this.controller.signal,
      commandTimeoutMs: this.input.limits.commandTimeoutMs,
      emit: (event: AgentEvent) => this.emit(event),
      ask: (question: string, signal: AbortSignal) => this.host.ask(question, signal),
    };
    try {
      return { outcome: await runPrepared(prepared, ctx), changesFiles: prepared.tool.changesFiles };
    } catch (err) {
      if (this.controller.signal.aborted) return { outcome: { ok: false, output: 'aborted', aborted: true }, changesFiles: prepared.tool.changesFiles };
      const message = this.scrubber.scrub(err instanceof Error ? err.message : String(err));
      this.warn({ code: 'tool_error', message: `The ${call.name} tool failed in the harness: ${message}` });
      return { outcome: { ok: false, output: `The ${call.name} tool failed: ${message}` }, changesFiles: prepared.tool.changesFiles };
    }
  }

  private async filesChanged(turnEnds: boolean): Promise<void> {
    try {
      await this.host.onFilesChanged(turnEnds);
    } catch (err) {
      const message = this.scrubber.scrub(err instanceof Error ? err.message : String(err));
      this.warn({ code: 'diff_error', message: `Could not update the diff: ${message}` });
    }
  }

  /** Every tool call gets a result, so the history stays valid for the next request. */
  private sealedHistory(output: string): ConversationItem[] {
    const answered = new Set(this.history.flatMap((i) => (i.type === 'tool_result' ? [i.callId] : [])));
    const missing = this.history.filter((i) => i.type === 'tool_call' && !answered.has(i.callId));
    for (const call of missing) {
      if (call.type === 'tool_call') this.history.push({ type: 'tool_result', callId: call.callId, output });
    }
    return [...this.history];
  }

  private complete(summary: string, testResult?: TestResult): AgentOutcome {
    this.emit({ type: 'agent.finished', summary, ...(testResult ? { testResult } : {}) });
    return {
      status: 'completed',
      summary,
      ...(testResult ? { testResult } : {}),
      history: this.sealedHistory('not run: the task finished first'),
      usage: this.usage,
    };
  }

  private fail(code: TaskErrorCode, message: string, pendingOutput = 'not run: the task stopped'): AgentOutcome {
    const error: TaskError = { code, message: this.scrubber.scrub(message) };
    return { status: 'failed', error, history: this.sealedHistory(pendingOutput), usage: this.usage };
  }

  private stopped(): AgentOutcome {
    if (this.stopReason === 'time_limit') {
      return this.fail('time_limit', `Stopped after ${formatDuration(this.input.limits.maxWallTimeMs)}: the task's wall-time limit.`, 'aborted');
    }
    return { status: 'cancelled', history: this.sealedHistory('aborted'), usage: this.usage };
  }
}

/** "1.5 seconds", "1 minute", "2.5 minutes": a limit below a minute reads in seconds. */
export function formatDuration(ms: number): string {
  const seconds = ms < 60_000;
  const text = (seconds ? ms / 1000 : ms / 60_000).toFixed(1).replace(/\.0$/, '');
  return `${text} ${seconds ? 'second' : 'minute'}${text === '1' ? '' : 's'}`;
}
