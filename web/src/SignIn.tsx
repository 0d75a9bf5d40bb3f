// Signing in: the server token (pasted, or given in the address as #token=…) or, on a team server
// with an OAuth app configured, GitHub.
import { useState } from 'preact/hooks';

export function SignIn(props: { githubSignIn: boolean; problem: string | undefined; onToken: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="signin">
      <h1>Delegate</h1>
      {props.problem ? <p class="error" role="alert">{props.problem}</p> : null}
      {props.githubSignIn ? (
        <p>
          <a class="button primary" href="/auth/github/login">Sign in with GitHub</a>
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim()) props.onToken(token.trim());
        }}
      >
        <label for="token">Server token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <button type="submit">Sign in</button>
        <p class="hint">The token is in the server's data directory (<code>token</code>), or open <code>http://HOST:PORT/#token=…</code>. It is kept in this tab only.</p>
      </form>
    </main>
  );
}
