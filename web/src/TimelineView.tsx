// A task's timeline, item by item as the extension's panel shows it: the agent's messages,
// commands with their output, questions (with the agent's suggested answers as buttons), the
// user's messages, setup, warnings, the summary and the pull request.
import { describeCheckpoint, describeRestored } from '../../src/model/checkpoints';
import type { TimelineItem } from '../../src/model/timeline';
import { formatElapsed } from './format';

function choicesOf(item: TimelineItem): string[] {
  return 'choices' in item && Array.isArray(item.choices) ? (item.choices as unknown[]).filter((c): c is string => typeof c === 'string') : [];
}

export function TimelineView(props: { items: readonly TimelineItem[]; onAnswer: (text: string) => void; busy: boolean }) {
  if (props.items.length === 0) return <p class="empty">Nothing has happened yet.</p>;
  return (
    <ol class="timeline" aria-label="Timeline">
      {props.items.map((item) => (
        <li key={item.id} class={`item k-${item.kind}`} data-kind={item.kind}>
          <Item item={item} onAnswer={props.onAnswer} busy={props.busy} />
        </li>
      ))}
    </ol>
  );
}

function Item(props: { item: TimelineItem; onAnswer: (text: string) => void; busy: boolean }) {
  const item = props.item;
  switch (item.kind) {
    case 'agent':
      return <div class="text">{item.text}{item.streaming ? <span class="cursor" aria-hidden="true">▍</span> : null}</div>;
    case 'reasoning':
      return <div class="text muted">{item.text}</div>;
    case 'tool':
      return (
        <details>
          <summary>
            <span class={`tool-state t-${item.state}`}>{item.state === 'running' ? 'running' : item.state === 'ok' ? 'ok' : 'failed'}</span>{' '}
            <code>{item.label}</code>
            {item.exitCode !== null && item.exitCode !== 0 ? <span class="muted"> exit {item.exitCode}</span> : null}
            {item.durationMs !== null ? <span class="muted"> · {formatElapsed(item.durationMs)}</span> : null}
          </summary>
          {item.args && item.args !== item.label ? <pre class="args">{item.args}</pre> : null}
          {item.output ? <pre class="output">{item.output}</pre> : null}
        </details>
      );
    case 'question': {
      const choices = choicesOf(item);
      return (
        <div class="question" role={item.answered ? undefined : 'alert'}>
          <strong>Question</strong>
          <div class="text">{item.text}</div>
          {!item.answered && choices.length ? (
            <div class="choices" role="group" aria-label="Suggested answers">
              {choices.map((c) => (
                <button type="button" key={c} disabled={props.busy} onClick={() => props.onAnswer(c)}>{c}</button>
              ))}
            </div>
          ) : null}
          {item.answered ? <span class="muted">answered</span> : null}
        </div>
      );
    }
    case 'user':
      return <div class="user"><span class="muted">{item.messageKind === 'answer' ? 'You answered' : item.messageKind === 'steer' ? 'You steered' : 'You followed up'}</span><div class="text">{item.text}</div></div>;
    case 'status':
      return <div class="status-line muted">{item.text}</div>;
    case 'setup':
      return <details><summary>Setup</summary><pre class="output">{item.text}</pre></details>;
    case 'warning':
      return <div class="warning" role="note">{item.text}</div>;
    case 'finished':
      return (
        <div class="finished">
          <strong>Summary</strong>
          <div class="text">{item.summary}</div>
          {item.testResult ? <div class={item.testResult.passed ? 'pass' : 'fail'}>Tests ({item.testResult.command}): {item.testResult.passed ? 'passed' : 'failed'}{item.testResult.summary ? ` — ${item.testResult.summary}` : ''}</div> : null}
        </div>
      );
    case 'pullRequest':
      return <div>Pull request <a href={item.url} target="_blank" rel="noreferrer noopener">#{item.number}</a></div>;
    case 'checkpoint':
      return <div class="muted">Checkpoint: {describeCheckpoint(item)}{item.undone ? ' (undone)' : ''}</div>;
    case 'restored':
      return <div class="muted">{describeRestored(item)}</div>;
    default: {
      const never: never = item;
      return never;
    }
  }
}
