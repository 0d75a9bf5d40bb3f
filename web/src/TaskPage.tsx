// One task: its state, usage and cost, the timeline with the message box (answer / steer / follow
// up, as the extension's panel words it), cancel, and the review of its changes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { isFinished } from '../../protocol/task';
import { elapsedMs, formatCost, formatElapsed, formatTokens, lineCounts, statusLabel } from './format';
import { Attempts } from './Attempts';
import { useAppState, type Session } from './session';
import { Review } from './Review';
import { taskHref } from './router';
import { useNow } from './TaskList';
import { TimelineView } from './TimelineView';

export function TaskPage(props: { session: Session; taskId: string; tab: 'timeline' | 'review' }) {
  const { state, api } = props.session;
  useAppState(state);
  const task = state.tasks.get(props.taskId);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [missing, setMissing] = useState(false);
  const now = useNow(task !== undefined && !isFinished(task.status));
  const box = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    if (task) return;
    // Not in the list (yet, or any more): ask for it, so a link to a task works before the stream
    // is current and a deleted one says so.
    void api.get(props.taskId).then((r) => (r.ok ? state.upsert(r.value) : setMissing(r.status === 404)));
  }, [props.taskId, task === undefined]);

  if (!task) return <p class="empty">{missing ? 'No such task (or not yours).' : 'Loading the task…'}</p>;

  const waiting = task.status === 'waiting_for_input';
  const active = !isFinished(task.status);
  const verb = waiting ? 'Answer' : active ? 'Steer' : 'Follow Up';
  const placeholder = waiting ? 'Answer the question…' : active ? 'Steer the agent (read at its next turn)…' : 'Follow up (same workspace)…';

  const send = async (message: string) => {
    if (!message.trim()) return;
    setBusy(true);
    setProblem(undefined);
    const r = await api.message(task.id, message.trim());
    setBusy(false);
    if (!r.ok) return setProblem(r.message);
    setText('');
    state.upsert(r.value.task);
  };
  const cancel = async () => {
    setBusy(true);
    const r = await api.cancel(task.id);
    setBusy(false);
    if (!r.ok) setProblem(r.message);
    else state.upsert(r.value);
  };
  const { adds, dels } = lineCounts(task);
  const u = task.usage;

  return (
    <section class="task" aria-labelledby="task-title" data-task-id={task.id} data-status={task.status}>
      <div class="row-head">
        <h1 id="task-title">{task.prompt.split('\n', 1)[0]}</h1>
        <span class={`badge s-${task.status}`} role="status" aria-live="polite">{statusLabel(task.status)}</span>
      </div>
      <p class="meta">
        <span>{task.repo.name}{task.repo.branch ? ` (${task.repo.branch})` : ''}</span>
        <span>{formatElapsed(elapsedMs(task, now))}</span>
        {task.changedFiles.length ? <span><span class="add">+{adds}</span> <span class="del">−{dels}</span> in {task.changedFiles.length} file{task.changedFiles.length === 1 ? '' : 's'}</span> : null}
        <span class="usage" title={`${u.modelRequests} model requests, ${u.cachedInputTokens} cached input tokens`}>
          {formatTokens(u.inputTokens)} in / {formatTokens(u.outputTokens)} out tokens{u.costUsd !== null ? ` · ${formatCost(u.costUsd)}` : ''}
        </span>
        {task.pullRequest ? <a href={task.pullRequest.url} target="_blank" rel="noreferrer noopener">PR #{task.pullRequest.number}</a> : null}
      </p>
      {task.error ? <p class="error" role="alert">{task.error.message}</p> : null}
      <Attempts session={props.session} task={task} />
      <nav class="tabs" aria-label="Task">
        <a href={taskHref(task.id)} aria-current={props.tab === 'timeline' ? 'page' : undefined}>Timeline</a>
        <a href={taskHref(task.id, 'review')} aria-current={props.tab === 'review' ? 'page' : undefined}>Changes{task.changedFiles.length ? ` (${task.changedFiles.length})` : ''}</a>
      </nav>
      {props.tab === 'review' ? (
        <Review session={props.session} task={task} />
      ) : (
        <>
          <TimelineView items={state.timeline(task.id).items} busy={busy} onAnswer={(c) => void send(c)} />
          <form
            class="composer"
            onSubmit={(e) => {
              e.preventDefault();
              void send(text);
            }}
          >
            <label for="message" class="sr-only">{verb}</label>
            <textarea id="message" ref={box} rows={2} placeholder={placeholder} value={text} onInput={(e) => setText(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  void send(text);
                }
              }} />
            <div class="actions">
              <button type="submit" class="primary" disabled={busy || !text.trim()}>{verb}</button>
              {active ? <button type="button" onClick={() => void cancel()} disabled={busy}>Cancel task</button> : null}
            </div>
            {problem ? <p class="error" role="alert">{problem}</p> : null}
          </form>
        </>
      )}
    </section>
  );
}
