// How the panel draws one timeline item (agent text, a command with its live output and timer, a
// question with its suggested answers, …). Plain DOM; what it needs of the panel comes in `ctx`.
import { describeCheckpoint, describeRestored, type CheckpointItem } from '../model/checkpoints';
import type { TimelineItem } from './messages';

export interface ItemContext {
  /** Commands the user opened / running commands the user folded (both remembered in the panel's state). */
  expanded: Set<string>;
  collapsed: Set<string>;
  save(): void;
  /** Sends a suggested answer; false when there is no task to answer. */
  answer(text: string): boolean;
  focusMessage(): void;
  /** "View changes" / "Follow up from here" on a checkpoint. */
  checkpoint(version: string, action: 'view' | 'followUp'): void;
  /** Whether "View changes" / "Follow up from here" apply to this checkpoint (the task's state decides). */
  canView(item: CheckpointItem): boolean;
  canFollowUpFrom(item: CheckpointItem): boolean;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function renderItemBody(item: TimelineItem, ctx: ItemContext): HTMLElement {
  const { expanded, collapsed } = ctx;
  switch (item.kind) {
    case 'agent':
      return el('li', { class: `item agent${item.streaming ? ' streaming' : ''}` }, el('div', { class: 'text' }, item.text));
    case 'reasoning':
      return el('li', { class: 'item reasoning' }, el('details', {}, el('summary', {}, 'Reasoning'), el('div', { class: 'text' }, item.text)));
    case 'tool': {
      // A running command is open, its output streaming in; once it ends it folds away. What the
      // user opened or closed by hand stays so.
      const running = item.state === 'running';
      const open = running ? !collapsed.has(item.id) : expanded.has(item.id);
      const lastLine = running ? lastOutputLine(item.output) : '';
      const details = el('details', open ? { open: '' } : {},
        el('summary', {},
          el('span', { class: `tool-state ${item.state}` }, running ? '…' : item.state === 'ok' ? '✓' : '✗'),
          ' ',
          el('code', { title: item.name }, item.label),
          item.exitCode !== null ? el('span', { class: 'muted' }, ` exit ${item.exitCode}`) : null,
          item.durationMs !== null ? el('span', { class: 'muted' }, ` ${(item.durationMs / 1000).toFixed(1)}s`) : null,
          running && item.startedAt !== null ? el('span', { class: 'muted timer', 'data-since': String(item.startedAt) }, runningFor(item.startedAt)) : null,
          lastLine ? el('span', { class: 'muted last-line' }, ` ${lastLine}`) : null),
        item.args.includes('\n') || item.label.endsWith('…') ? el('pre', { class: 'code' }, item.args) : null,
        el('pre', { class: `output${running ? ' live' : ''}`, 'aria-label': running ? 'Live output' : 'Output' }, item.output || (running ? 'running…' : '(no output)')));
      details.addEventListener('toggle', () => {
        // The toggle event also follows the initial state: only a departure from the default counts.
        const byDefault = item.state === 'running';
        expanded.delete(item.id);
        collapsed.delete(item.id);
        if (details.open !== byDefault) (details.open ? expanded : collapsed).add(item.id);
        ctx.save();
      });
      return el('li', { class: `item tool${running ? ' running' : ''}` }, details);
    }
    case 'question': {
      const li = el('li', { class: `item question${item.answered ? ' answered' : ''}` }, el('strong', {}, 'Question: '), item.text);
      if (!item.answered) {
        // A suggested answer goes as it is, like a typed one; the message box stays for any other.
        const choices = item.choices.map((choice) => {
          const b = el('button', { class: 'choice primary' }, choice);
          b.addEventListener('click', () => {
            if (!ctx.answer(choice)) return;
            li.querySelectorAll('button').forEach((other) => (other.disabled = true));
          });
          return b;
        });
        const answer = el('button', {}, choices.length ? 'Other answer below' : 'Answer below');
        answer.addEventListener('click', () => ctx.focusMessage());
        li.append(el('div', { class: 'actions choices', role: 'group', 'aria-label': 'Suggested answers' }, ...choices, answer));
      }
      return li;
    }
    case 'user':
      return el('li', { class: 'item user' }, el('span', { class: 'muted' }, `${item.messageKind}: `), item.text);
    case 'status':
      return el('li', { class: 'item status muted' }, `— ${item.text} —`);
    case 'setup':
      return el('li', { class: 'item setup' }, el('details', {}, el('summary', {}, 'Setup'), el('pre', { class: 'output' }, item.text)));
    case 'warning':
      return el('li', { class: 'item warning' }, `⚠ ${item.text}`);
    case 'finished':
      return el('li', { class: 'item finished' },
        el('strong', {}, 'Summary'), el('div', { class: 'text' }, item.summary),
        item.testResult ? el('p', { class: item.testResult.passed ? 'pass' : 'fail' },
          `${item.testResult.passed ? '✓' : '✗'} ${item.testResult.command}${item.testResult.summary ? ` — ${item.testResult.summary}` : ''}`) : null);
    case 'pullRequest':
      return el('li', { class: 'item pr' }, `Pull request #${item.number}: `, el('a', { href: item.url }, item.url));
    case 'checkpoint':
      return renderCheckpoint(item, ctx);
    case 'restored':
      return el('li', { class: 'item restored', 'data-version': item.version }, el('span', { class: 'restored-mark', 'aria-hidden': 'true' }, '↺'), ` ${describeRestored(item)}`);
  }
}

/** A compact marker on the turn: what it changed so far, and what can be done with it. */
function renderCheckpoint(item: CheckpointItem, ctx: ItemContext): HTMLElement {
  const label = describeCheckpoint(item);
  let view: HTMLButtonElement | null = null;
  if (ctx.canView(item)) {
    view = el('button', { class: 'link', 'aria-label': `View changes as of ${label}` }, 'View changes');
    view.addEventListener('click', () => ctx.checkpoint(item.version, 'view'));
  }
  let followUp: HTMLButtonElement | null = null;
  if (ctx.canFollowUpFrom(item)) {
    followUp = el('button', { class: 'link', 'aria-label': `Follow up from ${label}` }, 'Follow up from here');
    followUp.addEventListener('click', () => ctx.checkpoint(item.version, 'followUp'));
  }
  const note = item.current ? 'current' : item.undone ? 'undone' : null;
  return el('li', { class: `item checkpoint${item.undone ? ' undone' : ''}${item.current ? ' current' : ''}`, 'data-version': item.version, 'aria-label': `Checkpoint: ${label}` },
    el('span', { class: 'checkpoint-mark', 'aria-hidden': 'true' }, '◆'),
    el('span', { class: 'checkpoint-label', title: note === 'undone' ? 'A follow-up from an earlier turn undid this in the task\'s workspace; it can still be viewed.' : '' }, label),
    note ? el('span', { class: `checkpoint-note ${note}` }, note) : null,
    view,
    followUp);
}

/** The output's last non-empty line, shortened: what a folded running command shows of itself. */
function lastOutputLine(output: string): string {
  const lines = output.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line) return line.length > 80 ? `${line.slice(0, 79)}…` : line;
  }
  return '';
}

export function runningFor(since: number): string {
  return ` ${Math.max(0, Math.floor((Date.now() - since) / 1000))}s`;
}
