// A task's timeline: the event log folded into what the panel shows (messages assembled from
// streamed deltas, tool calls joined with their output, questions, steering, the summary).
import type { Task, TaskEvent } from '../../protocol';
import type { TimelineItem } from '../webview/messages';
import { CheckpointBook, markCurrent, markUndone } from './checkpoints';
import { toolLabel } from './toolLabel';

export type { TimelineItem };

/** Output kept per tool call; the rest is elided in the middle so the start and the end stay. */
const MAX_TOOL_OUTPUT = 32 * 1024;
const MAX_ITEMS = 2000;

/** Mutable on the extension side only; the panel gets copies. */
export class Timeline {
  readonly items: TimelineItem[] = [];
  private readonly byId = new Map<string, TimelineItem>();
  /** What the last task.status said, so a repeat (a best-of-N selection) adds no duplicate line. */
  private lastStatus: string | undefined;
  private lastSelected: number | undefined;
  private readonly checkpoints = new CheckpointBook();

  apply(event: TaskEvent): boolean {
    const attempt = event.attempt ?? 0;
    switch (event.type) {
      case 'task.created':
      case 'task.deleted':
        return false;
      case 'usage':
        // One per model turn: what checkpoints are numbered by.
        this.checkpoints.noteTurn(attempt);
        return false;
      case 'diff.updated':
        return this.diffUpdated(event);
      case 'workspace.restored': {
        const id = `x${event.seq}`;
        this.push({ kind: 'restored', id, version: event.checkpoint, turn: this.checkpoints.turnOf(event.checkpoint, attempt, this.items), attempt });
        this.checkpoints.noteVersion(attempt, event.checkpoint);
        markUndone(this.items, attempt, event.checkpoint, id);
        markCurrent(this.items, attempt, event.checkpoint);
        return true;
      }
      case 'task.status': {
        let changed = false;
        if (event.status !== this.lastStatus) {
          this.push({ kind: 'status', id: `s${event.seq}`, text: event.status.replace(/_/g, ' ') });
          changed = true;
        }
        this.lastStatus = event.status;
        return this.noteSelection(event.task, `a${event.seq}`) || changed;
      }
      case 'agent.delta': {
        const id = `m${attempt}:${event.messageId}`;
        const item = this.byId.get(id);
        if (item?.kind === 'agent') item.text += event.text;
        else this.push({ kind: 'agent', id, text: event.text, streaming: true, attempt });
        return true;
      }
      case 'agent.message': {
        const id = `m${attempt}:${event.messageId}`;
        const item = this.byId.get(id);
        if (item?.kind === 'agent') {
          item.text = event.text;
          item.streaming = false;
        } else this.push({ kind: 'agent', id, text: event.text, streaming: false, attempt });
        return true;
      }
      case 'agent.reasoning':
        this.push({ kind: 'reasoning', id: `r${event.seq}`, text: event.text, attempt });
        return true;
      case 'tool.call':
        this.checkpoints.noteCall(event.seq, attempt, event.name === 'ask_user' ? undefined : `t${attempt}:${event.callId}`);
        // The question item stands for an ask_user call: the same question twice reads as two.
        if (event.name === 'ask_user') return false;
        this.push({
          kind: 'tool',
          id: `t${attempt}:${event.callId}`,
          name: event.name,
          label: toolLabel(event.name, event.args),
          args: describeArgs(event.args),
          output: '',
          state: 'running',
          exitCode: null,
          durationMs: null,
          startedAt: Number.isFinite(Date.parse(event.at)) ? Date.parse(event.at) : null,
          attempt,
        });
        return true;
      case 'tool.output': {
        const item = this.byId.get(`t${attempt}:${event.callId}`);
        if (item?.kind !== 'tool') return false;
        item.output = cap(item.output + event.chunk);
        return true;
      }
      case 'tool.result': {
        const item = this.byId.get(`t${attempt}:${event.callId}`);
        if (item?.kind !== 'tool') return false;
        // The result is what the model saw; streamed output is richer while it runs.
        if (event.output.length > 0) item.output = cap(event.output);
        item.state = event.ok ? 'ok' : 'failed';
        item.exitCode = event.exitCode ?? null;
        item.durationMs = event.durationMs;
        return true;
      }
      case 'question': {
        // The server announces one question twice (the agent's tool call, then the task waiting
        // for input, each with its own id): an open question of the same attempt shows once.
        const open = this.items.some((i) => i.kind === 'question' && !i.answered && i.attempt === attempt && i.text === event.text);
        if (open) return false;
        this.push({ kind: 'question', id: `q${attempt}:${event.questionId}`, text: event.text, choices: event.choices ?? [], answered: false, attempt });
        return true;
      }
      case 'user.message':
        if (event.kind === 'answer') {
          for (const item of this.items) if (item.kind === 'question') item.answered = true;
        }
        this.push({ kind: 'user', id: `u${event.seq}`, text: event.text, messageKind: event.kind });
        return true;
      case 'setup.log': {
        // Parallel attempts interleave their setup logs: each attempt keeps its own block.
        const block = this.openSetup(attempt);
        if (block) block.text = cap(`${block.text}\n${event.text}`);
        else this.push({ kind: 'setup', id: `l${event.seq}`, text: event.text, attempt });
        return true;
      }
      case 'setup.started':
      case 'setup.finished': {
        // The setup step's start and end join its log block, saying whether it came from the cache
        // (a cached step's end adds nothing to its start).
        if (event.type === 'setup.finished' && event.cached) return false;
        const text = setupLine(event);
        const block = this.openSetup(attempt);
        if (block) block.text = cap(`${block.text}\n${text}`);
        else this.push({ kind: 'setup', id: `l${event.seq}`, text, attempt });
        return true;
      }
      case 'agent.finished': {
        // The server may report one finish at both attempt and task level: show it once.
        const last = [...this.items].reverse().find((i) => i.kind === 'finished' || i.kind === 'user');
        if (last?.kind === 'finished' && last.attempt === attempt && last.summary === event.summary) return false;
        for (const item of this.items) if (item.kind === 'agent' && item.attempt === attempt) item.streaming = false;
        this.push({ kind: 'finished', id: `f${event.seq}`, summary: event.summary, testResult: event.testResult ?? null, attempt });
        return true;
      }
      case 'warning':
        this.push({ kind: 'warning', id: `w${event.seq}`, text: event.error.message, attempt });
        return true;
      case 'pull_request':
        this.push({ kind: 'pullRequest', id: `p${event.seq}`, url: event.pullRequest.url, number: event.pullRequest.number });
        return true;
      case 'task.cancel_requested':
        // The cancelled status that follows says it.
        return false;
      case 'task.moved':
        // A fleet's node went away (or shut down) and another took the task over.
        this.push({ kind: 'warning', id: `m${event.seq}`, text: `Moved from ${event.from} to ${event.to}: ${event.reason === 'drained' ? 'the node shut down' : 'the node stopped answering'}`, attempt });
        return true;
      default: {
        const unreachable: never = event;
        return unreachable;
      }
    }
  }

  /**
   * Best-of-N: one line when the task starts to mirror another attempt. Also called for a task
   * from a REST answer, since the server announces a selection that keeps the status by no event.
   */
  noteSelection(task: Task, id = `a:${task.updatedAt}`): boolean {
    const total = task.attempts?.length ?? 0;
    const selected = task.selectedAttempt;
    if (total < 2 || selected === undefined || selected === this.lastSelected) return false;
    this.lastSelected = selected;
    this.push({ kind: 'status', id, text: `attempt ${selected + 1} of ${total} selected` });
    return true;
  }

  /**
   * A checkpoint goes right after the tool call that made its turn's last change (one per turn:
   * a later state of the same turn replaces it); any diff.updated may move the workspace's state.
   * An older server sends neither `checkpoint` nor workspace.restored: no markers then.
   */
  private diffUpdated(event: Extract<TaskEvent, { type: 'diff.updated' }>): boolean {
    const attempt = event.attempt ?? 0;
    let changed = false;
    if (event.checkpoint === true && event.diffVersion !== undefined) {
      const placed = this.checkpoints.place(
        { seq: event.seq, attempt, version: event.diffVersion, cause: event.cause, changedFiles: event.changedFiles },
        this.items,
      );
      if (placed) {
        if (placed.replaces !== undefined) this.removeItem(placed.replaces);
        this.insertAfter(placed.item, placed.afterId);
        changed = true;
      }
    }
    this.checkpoints.noteVersion(attempt, event.diffVersion);
    return markCurrent(this.items, attempt, event.diffVersion) || changed;
  }

  private insertAfter(item: TimelineItem, afterId: string | undefined): void {
    const at = afterId === undefined ? -1 : this.items.findIndex((i) => i.id === afterId);
    if (at < 0) return this.push(item);
    this.items.splice(at + 1, 0, item);
    this.byId.set(item.id, item);
  }

  private removeItem(id: string): void {
    const at = this.items.findIndex((i) => i.id === id);
    if (at >= 0) this.items.splice(at, 1);
    this.byId.delete(id);
  }

  /** The attempt's setup block that nothing of the same attempt has followed yet. */
  private openSetup(attempt: number): Extract<TimelineItem, { kind: 'setup' }> | undefined {
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i]!;
      if (!('attempt' in item) || item.attempt !== attempt) continue;
      return item.kind === 'setup' ? item : undefined;
    }
    return undefined;
  }

  private push(item: TimelineItem): void {
    this.items.push(item);
    this.byId.set(item.id, item);
    if (this.items.length > MAX_ITEMS) {
      const dropped = this.items.splice(0, this.items.length - MAX_ITEMS);
      for (const d of dropped) this.byId.delete(d.id);
    }
  }
}

function describeArgs(args: unknown): string {
  if (typeof args === 'string') return cap(args);
  if (args && typeof args === 'object') {
    const a = args as Record<string, unknown>;
    // The common tools read best as their main argument.
    for (const key of ['command', 'cmd', 'patch', 'path', 'query', 'pattern']) {
      const v = a[key];
      if (typeof v === 'string') return cap(v);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return cap(v.join(' '));
    }
  }
  return cap(JSON.stringify(args) ?? '');
}

function cap(text: string): string {
  if (text.length <= MAX_TOOL_OUTPUT) return text;
  const half = MAX_TOOL_OUTPUT / 2;
  return `${text.slice(0, half)}\n… ${text.length - MAX_TOOL_OUTPUT} characters elided …\n${text.slice(-half)}`;
}

function setupLine(event: Extract<TaskEvent, { type: 'setup.started' | 'setup.finished' }>): string {
  if (event.type === 'setup.started') return event.cached ? 'Setup: from the cache (its script ran for an earlier task on this commit)' : 'Setup: running';
  return event.exitCode === 0 ? `Setup: done in ${(event.ms / 1000).toFixed(1)} s` : `Setup: failed (${event.exitCode === null ? 'killed' : `exit ${event.exitCode}`}) after ${(event.ms / 1000).toFixed(1)} s`;
}
