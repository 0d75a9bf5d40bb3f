// Who the page is: the token it calls the API with, kept in sessionStorage (this tab only, gone
// when it closes; never a cookie other pages could send). It arrives in the address's fragment
// (#token=…, which browsers never send to the server) or, after the GitHub sign-in, in a meta tag
// of the callback page; either way the address is cleaned at once so it is not kept in history.

const KEY = 'delegate.token';
const KIND_KEY = 'delegate.tokenKind';
/** A GitHub token typed in for pull requests (server-token sign-in only). */
export const GITHUB_TOKEN_KEY = 'delegate.githubToken';

export type TokenKind = 'server' | 'github';
export interface Credentials {
  token: string;
  /** `github`: a GitHub user's token (the OAuth sign-in), also good for opening pull requests. */
  kind: TokenKind;
}

function meta(name: string): string | undefined {
  const el = document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`);
  const value = el?.content;
  el?.remove();
  return value || undefined;
}

/** Reads a new token from the address or the sign-in page, then the one this tab already holds. */
export function takeCredentials(): { credentials: Credentials | null; signInError?: string; githubSignIn: boolean } {
  const githubSignIn = meta('delegate-github-signin') === '1';
  const signInError = meta('delegate-signin-error');
  const fromOAuth = meta('delegate-signin-token');
  const fragment = new URLSearchParams(location.hash.slice(1));
  const fromFragment = fragment.get('token');
  if (fromOAuth) save({ token: fromOAuth, kind: 'github' });
  else if (fromFragment) save({ token: fromFragment, kind: 'server' });
  if (fromOAuth || fromFragment || location.pathname !== '/') history.replaceState(null, '', '/');
  return { credentials: load(), githubSignIn, ...(signInError ? { signInError } : {}) };
}

export function save(c: Credentials): void {
  sessionStorage.setItem(KEY, c.token);
  sessionStorage.setItem(KIND_KEY, c.kind);
}

function load(): Credentials | null {
  const token = sessionStorage.getItem(KEY);
  if (!token) return null;
  return { token, kind: sessionStorage.getItem(KIND_KEY) === 'github' ? 'github' : 'server' };
}

export function signOut(): void {
  for (const key of [KEY, KIND_KEY, GITHUB_TOKEN_KEY]) sessionStorage.removeItem(key);
}
