// Best-of-N: one row per attempt (the extension's rows and words) and "Use this one" for a finished
// attempt; the task, its timeline filter and its diff then follow the chosen attempt.
import { useState } from 'preact/hooks';
import type { Task } from '../../protocol';
import { attemptRows, describeAttempt } from '../../src/model/attempts';
import type { Session } from './session';

export function Attempts(props: { session: Session; task: Task }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const rows = attemptRows(props.task);
  if (rows.length === 0) return null;
  const choose = async (index: number) => {
    setBusy(true);
    const r = await props.session.api.selectAttempt(props.task.id, index);
    setBusy(false);
    if (!r.ok) return setProblem(r.message);
    setProblem(undefined);
    props.session.state.upsert(r.value);
  };
  return (
    <section class="attempts" aria-label="Attempts">
      <ul>
        {rows.map((row) => (
          <li key={row.index} data-attempt={row.index} data-selected={row.selected ? 'true' : 'false'}>
            <strong>{row.title}</strong>{row.selected ? ' (shown)' : ''} — {describeAttempt(row)}
            {row.selectable ? <button type="button" disabled={busy} onClick={() => void choose(row.index)}>Use attempt {row.index + 1}</button> : null}
            {row.summary ? <div class="muted">{row.summary}</div> : null}
            {row.error ? <div class="error">{row.error}</div> : null}
          </li>
        ))}
      </ul>
      {problem ? <p class="error" role="alert">{problem}</p> : null}
    </section>
  );
}
