// The web interface's composition root: credentials, the API client, the state and the event
// stream are made here once and passed down; pages only render and call back.
import 'diff2html/bundles/css/diff2html.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ReviewState } from '../../src/review/reviewState';
import { Api } from './api';
import { save, signOut, takeCredentials, type Credentials } from './auth';
import { NewTask } from './NewTask';
import { useRoute } from './router';
import { sessionStore, useAppState, type Session } from './session';
import { SignIn } from './SignIn';
import { AppState } from './state';
import { EventStreamClient } from './stream';
import { TaskList } from './TaskList';
import { TaskPage } from './TaskPage';

function App(props: { initial: ReturnType<typeof takeCredentials> }) {
  const [credentials, setCredentials] = useState<Credentials | null>(props.initial.credentials);
  const [problem, setProblem] = useState<string | undefined>(props.initial.signInError);
  if (!credentials) {
    return (
      <SignIn
        githubSignIn={props.initial.githubSignIn}
        problem={problem}
        onToken={(token) => {
          const c: Credentials = { token, kind: 'server' };
          save(c);
          setProblem(undefined);
          setCredentials(c);
        }}
      />
    );
  }
  return (
    <Signed
      key={credentials.token}
      credentials={credentials}
      onSignOut={(why) => {
        signOut();
        setProblem(why);
        setCredentials(null);
      }}
    />
  );
}

function Signed(props: { credentials: Credentials; onSignOut: (why?: string) => void }) {
  const session = useMemo<Session>(() => {
    const api = new Api(props.credentials.token);
    const state = new AppState();
    const stream = new EventStreamClient(props.credentials.token, {
      onEvent: (e) => state.apply(e),
      onState: (s, detail) => state.setConnection(s, detail),
    });
    return { api, state, credentials: props.credentials, stream, review: new ReviewState(sessionStore) };
  }, [props.credentials]);
  const [refused, setRefused] = useState<string | undefined>();
  useEffect(() => {
    void session.api.list().then((r) => {
      if (r.ok) return session.state.setTasks(r.value.tasks);
      if (r.status === 401) return props.onSignOut(`The server did not accept this sign-in: ${r.message}`);
      // Not admitted (403): the stream would be refused the same way, again and again.
      if (r.status === 403) session.stream.stop();
      setRefused(r.message);
    });
    session.stream.start();
    const online = () => session.stream.reconnect();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      session.stream.stop();
    };
  }, [session]);
  useAppState(session.state);
  const route = useRoute();
  const conn = session.state.connection;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">Delegate</a>
        <nav aria-label="Pages">
          <a href="#/" aria-current={route.page === 'list' ? 'page' : undefined}>Tasks</a>
          <a href="#/new" aria-current={route.page === 'new' ? 'page' : undefined}>New task</a>
        </nav>
        <span class={`conn conn-${conn.state}`} role="status" title={conn.detail ?? ''} data-connection={conn.state}>
          {conn.state === 'live' ? 'live' : conn.state === 'offline' ? 'reconnecting…' : 'connecting…'}
        </span>
        <button type="button" class="link" onClick={() => props.onSignOut()}>Sign out</button>
      </header>
      <main>
        {refused ? <p class="error" role="alert">{refused}</p> : null}
        {route.page === 'list' ? <TaskList session={session} /> : null}
        {route.page === 'new' ? <NewTask session={session} /> : null}
        {route.page === 'task' ? <TaskPage session={session} taskId={route.taskId} tab={route.tab} /> : null}
      </main>
    </div>
  );
}

const initial = takeCredentials();
const root = document.getElementById('app')!;
// The "Loading…" text the page ships with is not Preact's to diff: clear it first.
root.textContent = '';
render(<App initial={initial} />, root);
