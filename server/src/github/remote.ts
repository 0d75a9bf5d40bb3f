// Which GitHub (or GitHub Enterprise) repository a git remote points at, and the branch name a task's
// pull request uses. Pure functions: no I/O.

export interface GitHubRemote {
  owner: string;
  repo: string;
  /** host[:port] of the git server, as in the https URL. */
  host: string;
  /** The URL pushed to: https (or the API's scheme, for a loopback test host), never with credentials. */
  httpsUrl: string;
}

/**
 * The web/git host that belongs to an API root: api.github.com ⇔ github.com, `api.<host>` (GitHub
 * Enterprise Cloud with data residency) ⇔ `<host>`, and a GitHub Enterprise Server root
 * `https://ghe.example/api/v3` ⇔ ghe.example. Returns the origin (scheme://host[:port]).
 */
export function gitOriginForApi(apiBaseUrl: string): URL | null {
  let api: URL;
  try {
    api = new URL(apiBaseUrl);
  } catch {
    return null;
  }
  if (api.protocol !== 'https:' && api.protocol !== 'http:') return null;
  const origin = new URL(api.origin);
  const path = api.pathname.replace(/\/+$/, '');
  if (path === '' && api.hostname.startsWith('api.')) origin.hostname = api.hostname.slice(4);
  return origin;
}

const SCP_LIKE = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/\/)\/?(.+)$/;

/** Splits a remote URL into host parts and `owner/repo` path; null when it is no URL we know. */
function splitRemote(url: string): { scheme: 'https' | 'http' | 'ssh'; hostname: string; port: string; path: string } | null {
  const trimmed = url.trim();
  if (/^(https?|ssh|git\+ssh|ssh\+git):\/\//i.test(trimmed)) {
    let u: URL;
    try {
      u = new URL(trimmed.replace(/^(git\+ssh|ssh\+git):/i, 'ssh:'));
    } catch {
      return null;
    }
    const scheme = u.protocol.slice(0, -1).toLowerCase() as 'https' | 'http' | 'ssh';
    return { scheme, hostname: u.hostname.toLowerCase(), port: u.port, path: decodeURIComponent(u.pathname) };
  }
  // scp-like syntax: [user@]host:owner/repo(.git). A Windows drive letter or a local path is not one.
  const m = SCP_LIKE.exec(trimmed);
  if (!m || m[1]!.length < 2) return null;
  return { scheme: 'ssh', hostname: m[1]!.toLowerCase(), port: '', path: '/' + m[2]! };
}

/**
 * Parses `https://host/owner/repo(.git)`, `git@host:owner/repo(.git)` and
 * `ssh://git@host(:port)/owner/repo(.git)`. Returns null unless the host is the git host of
 * `apiBaseUrl` (github.com for api.github.com). ssh remotes map to the https URL on the same host,
 * because the push authenticates with the user's token over https.
 */
export function parseGitHubRemote(url: string, apiBaseUrl: string): GitHubRemote | null {
  const parts = splitRemote(url);
  const gitOrigin = gitOriginForApi(apiBaseUrl);
  if (!parts || !gitOrigin) return null;
  const hostname = parts.hostname === 'www.github.com' ? 'github.com' : parts.hostname;
  if (hostname !== gitOrigin.hostname.toLowerCase()) return null;
  const segments = parts.path.replace(/\/+$/, '').split('/').filter(Boolean);
  if (segments.length !== 2) return null;
  const owner = segments[0]!;
  const repo = segments[1]!.replace(/\.git$/i, '');
  // GitHub owners start with a letter, digit or underscore (EMU logins); repositories may not be dot names.
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(owner) || !/^[A-Za-z0-9_.-]+$/.test(repo) || /^\.+$/.test(repo)) return null;
  // Over http(s) the remote's own origin (and port) is the git server; over ssh the git server's
  // https side is the API's origin (the ssh port says nothing about the https port).
  let origin: string;
  if (parts.scheme === 'ssh') origin = gitOrigin.origin;
  else origin = `${parts.scheme}://${hostname}${parts.port ? `:${parts.port}` : ''}`;
  const host = new URL(origin).host;
  return { owner, repo, host, httpsUrl: `${origin}/${owner}/${repo}.git` };
}

/** The host of a remote URL, for error messages; never includes credentials. */
export function remoteHost(url: string): string | null {
  return splitRemote(url)?.hostname ?? null;
}

const SLUG_MAX = 40;

/** `delegate/<first 8 of the task id>-<slug of the prompt, at most 40 chars>`; always a valid ref name. */
export function branchName(taskId: string, prompt: string): string {
  const shortId = taskId.replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase() || 'task';
  const full = prompt
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '');
  // Cut at a word boundary when one is near, so the branch does not end in half a word.
  let slug = full.slice(0, SLUG_MAX);
  if (full.length > SLUG_MAX && full[SLUG_MAX] !== '-' && slug.lastIndexOf('-') >= SLUG_MAX / 2) slug = slug.slice(0, slug.lastIndexOf('-'));
  slug = slug.replace(/-+$/, '');
  return slug ? `delegate/${shortId}-${slug}` : `delegate/${shortId}`;
}
