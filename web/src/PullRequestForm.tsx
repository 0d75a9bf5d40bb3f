// Create Pull Request, after a preview of what it will hold: the title, the agent's summary and
// tests, each file with the hunks it takes. A GitHub sign-in's token opens it; with the server
// token the page asks for a GitHub token (kept in this tab only, sent with this request only).
import { useState } from 'preact/hooks';
import type { AcceptSpec, PullRequestInfo, Task } from '../../protocol';
import type { PullRequestPreview } from '../../src/commands/pullRequestPreview';
import { GITHUB_TOKEN_KEY } from './auth';
import type { Session } from './session';


export function PullRequestForm(props: { session: Session; task: Task; preview: PullRequestPreview; accept: AcceptSpec | undefined; onStale: () => void }) {
  const { api, credentials, state } = props.session;
  const { task, preview } = props;
  const [title, setTitle] = useState(preview.title);
  const [draft, setDraft] = useState(false);
  const [githubToken, setGithubToken] = useState(() => sessionStorage.getItem(GITHUB_TOKEN_KEY) ?? '');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const [made, setMade] = useState<PullRequestInfo | undefined>();
  if (task.status !== 'completed') {
    return <p class="muted pad">A pull request can be made once the task is ready for review.</p>;
  }
  const token = credentials.kind === 'github' ? credentials.token : githubToken.trim();
  const existing = made ?? task.pullRequest;

  const create = async () => {
    if (!token) return setProblem('A GitHub token is needed to push the branch and open the pull request.');
    if (credentials.kind !== 'github') sessionStorage.setItem(GITHUB_TOKEN_KEY, token);
    setBusy(true);
    setProblem(undefined);
    const r = await api.pullRequest(task.id, { githubToken: token, ...(props.accept ? { accept: props.accept } : {}), title: title.trim() || preview.title, draft });
    setBusy(false);
    if (r.ok) {
      setMade(r.value);
      state.upsert({ ...task, pullRequest: r.value });
      return;
    }
    if (r.status === 409 && /^stale_diff/.test(r.message)) {
      props.onStale();
      return setProblem('The task\'s changes moved since you reviewed them, so no pull request was made. The diff is reloaded; decisions on unchanged hunks are kept. Check it, then create again.');
    }
    setProblem(`The pull request failed: ${r.message}`);
  };

  return (
    <section class="pr" aria-labelledby="pr-title">
      <h2 id="pr-title">{existing ? 'Pull request' : 'Create Pull Request'}</h2>
      {existing ? (
        <p class="pr-made" role="status">
          Pull request <a href={existing.url} target="_blank" rel="noreferrer noopener">#{existing.number}</a> on branch <code>{existing.branch}</code>.
          {' '}Creating it again after a follow-up updates it.
        </p>
      ) : null}
      <div class="preview" aria-label="Preview">
        <label for="pr-title-input">Title</label>
        <input id="pr-title-input" value={title} onInput={(e) => setTitle(e.currentTarget.value)} maxLength={256} />
        {preview.summary ? <><div class="muted">Body: the agent's summary</div><div class="text summary">{preview.summary}</div></> : null}
        {preview.tests ? <div>Tests: {preview.tests}</div> : null}
        <div>Files ({preview.files.length}):</div>
        <ul class="preview-files">
          {preview.files.map((f) => (
            <li key={f.path}><code>{f.path}</code> — {f.of === 0 ? 'whole file' : `${f.hunks} of ${f.of} hunk${f.of === 1 ? '' : 's'}`}</li>
          ))}
        </ul>
        {preview.undecided ? <p class="muted">{preview.undecided}</p> : null}
      </div>
      {credentials.kind !== 'github' ? (
        <>
          <label for="gh-token">GitHub token (repo scope)</label>
          <input id="gh-token" type="password" autocomplete="off" value={githubToken} onInput={(e) => setGithubToken(e.currentTarget.value)} />
        </>
      ) : null}
      <label class="check"><input type="checkbox" checked={draft} onChange={(e) => setDraft(e.currentTarget.checked)} /> Draft</label>
      {problem ? <p class="error" role="alert">{problem}</p> : null}
      <button type="button" class="primary" disabled={busy || preview.files.length === 0} onClick={() => void create()}>
        {busy ? 'Creating…' : existing ? 'Update Pull Request' : 'Create Pull Request'}
      </button>
    </section>
  );
}
