// A new task on a remote repository: its URL (typed, or one earlier tasks used), a branch, the
// prompt and the options the extension offers (model, attempts, network) plus the limits.
import { useState } from 'preact/hooks';
import type { CreateTaskRequest, TaskLimits, TaskOptions } from '../../protocol';
import { remoteUrlProblem } from '../../protocol/task';
import type { Session } from './session';
import { navigate, taskHref } from './router';

/** Remote URLs earlier tasks used, most recent first. */
function knownRepos(session: Session): string[] {
  const urls = session.state.list().flatMap((t) => [t.repo.kind === 'remote' ? t.repo.url : undefined, t.repo.remoteUrl]);
  return [...new Set(urls.filter((u): u is string => Boolean(u)))];
}

function positive(value: string, scale = 1): number | undefined {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) && n > 0 ? Math.round(n * scale) : undefined;
}

export function NewTask(props: { session: Session }) {
  const { api } = props.session;
  const repos = knownRepos(props.session);
  const [url, setUrl] = useState(repos[0] ?? '');
  const [branch, setBranch] = useState('');
  const [prompt, setPrompt] = useState('');
  const [model, setModel] = useState('');
  const [attempts, setAttempts] = useState(1);
  const [network, setNetwork] = useState<'off' | 'setup' | 'on'>('off');
  const [maxTurns, setMaxTurns] = useState('');
  const [maxMinutes, setMaxMinutes] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const urlProblem = remoteUrlProblem(url.trim());
    if (urlProblem) return setProblem(`Repository: ${urlProblem}`);
    if (!prompt.trim()) return setProblem('Say what the agent should do.');
    const limits: TaskLimits = {};
    const turns = positive(maxTurns);
    const ms = positive(maxMinutes, 60_000);
    const tokens = positive(maxTokens);
    if (turns) limits.maxTurns = turns;
    if (ms) limits.maxWallTimeMs = ms;
    if (tokens) limits.maxTokens = tokens;
    const options: TaskOptions = { attempts, network, ...(model.trim() ? { model: model.trim() } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
    const body: CreateTaskRequest = { prompt: prompt.trim(), repo: { kind: 'remote', url: url.trim(), ...(branch.trim() ? { branch: branch.trim() } : {}) }, options };
    setBusy(true);
    const r = await api.create(body);
    setBusy(false);
    if (!r.ok) return setProblem(r.message);
    props.session.state.upsert(r.value);
    navigate(taskHref(r.value.id));
  };

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New task</h1>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label for="repo">Repository</label>
        <input id="repo" name="repo" list="known-repos" required placeholder="https://github.com/owner/repo.git" value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        <datalist id="known-repos">{repos.map((r) => <option key={r} value={r} />)}</datalist>
        <label for="branch">Branch</label>
        <input id="branch" name="branch" placeholder="the remote's default branch" value={branch} onInput={(e) => setBranch(e.currentTarget.value)} />
        <label for="prompt">What should the agent do?</label>
        <textarea id="prompt" name="prompt" rows={6} required value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void submit();
            }
          }} />
        <fieldset>
          <legend>Options</legend>
          <div class="grid">
            <label>Model <input name="model" placeholder="server default" value={model} onInput={(e) => setModel(e.currentTarget.value)} /></label>
            <label>Attempts
              <select name="attempts" value={String(attempts)} onChange={(e) => setAttempts(Number(e.currentTarget.value))}>
                {[1, 2, 3, 4].map((n) => <option key={n} value={String(n)}>{n}</option>)}
              </select>
            </label>
            <label>Network
              <select name="network" value={network} onChange={(e) => setNetwork(e.currentTarget.value as typeof network)}>
                <option value="off">off</option>
                <option value="setup">setup only</option>
                <option value="on">on</option>
              </select>
            </label>
            <label>Max turns <input name="maxTurns" inputMode="numeric" value={maxTurns} onInput={(e) => setMaxTurns(e.currentTarget.value)} /></label>
            <label>Max minutes <input name="maxMinutes" inputMode="numeric" value={maxMinutes} onInput={(e) => setMaxMinutes(e.currentTarget.value)} /></label>
            <label>Max tokens <input name="maxTokens" inputMode="numeric" value={maxTokens} onInput={(e) => setMaxTokens(e.currentTarget.value)} /></label>
          </div>
        </fieldset>
        {problem ? <p class="error" role="alert">{problem}</p> : null}
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Starting…' : 'Start task'}</button>
      </form>
    </section>
  );
}
