// Tasks, newest first, with the same states and words as the VS Code queue: state, elapsed time,
// +/− line counts; filters for running, waiting, done and failed.
import { useEffect, useState } from 'preact/hooks';
import { isFinished } from '../../protocol/task';
import { elapsedMs, formatShortElapsed, lineCounts, matchesFilter, shortTitle, statusLabel, type Filter } from './format';
import { useAppState, type Session } from './session';
import { taskHref } from './router';

const FILTERS: [Filter, string][] = [
  ['all', 'All'],
  ['running', 'Running'],
  ['waiting', 'Waiting'],
  ['done', 'Done'],
  ['failed', 'Failed'],
];

export function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [active]);
  return now;
}

export function TaskList(props: { session: Session }) {
  const { state } = props.session;
  useAppState(state);
  const [filter, setFilter] = useState<Filter>('all');
  const tasks = state.list();
  const now = useNow(tasks.some((t) => !isFinished(t.status)));
  const shown = tasks.filter((t) => matchesFilter(t, filter));
  return (
    <section aria-labelledby="tasks-title">
      <div class="row-head">
        <h1 id="tasks-title">Tasks</h1>
        <a class="button primary" href="#/new">New task</a>
      </div>
      <div class="filters" role="group" aria-label="Show">
        {FILTERS.map(([f, label]) => (
          <button type="button" key={f} aria-pressed={filter === f} onClick={() => setFilter(f)}>
            {label} <span class="count">{tasks.filter((t) => matchesFilter(t, f)).length}</span>
          </button>
        ))}
      </div>
      {shown.length === 0 ? (
        <p class="empty">{tasks.length === 0 ? 'No tasks yet. Start one with New task.' : 'No task in this state.'}</p>
      ) : (
        <ul class="tasks">
          {shown.map((t) => {
            const { adds, dels } = lineCounts(t);
            return (
              <li key={t.id} data-task-id={t.id} data-status={t.status}>
                <a href={taskHref(t.id)}>
                  <span class={`badge s-${t.status}`}>{statusLabel(t.status)}</span>
                  <span class="title">{shortTitle(t.prompt, 90) || t.id}</span>
                  <span class="meta">
                    <span>{t.repo.name}{t.repo.branch ? ` (${t.repo.branch})` : ''}</span>
                    <span class="elapsed">{formatShortElapsed(elapsedMs(t, now))}</span>
                    {t.changedFiles.length ? (
                      <span class="lines" aria-label={`${adds} lines added, ${dels} removed`}>
                        <span class="add">+{adds}</span> <span class="del">−{dels}</span>
                      </span>
                    ) : null}
                    {t.owner ? <span class="owner">{t.owner}</span> : null}
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
