// Command line and environment → one immutable Config. The only place that reads process.env
// for settings; everything else gets the Config through constructors.
import { parseArgs } from 'node:util';
import { availableParallelism, hostname } from 'node:os';
import { defaultDataDir } from '../../protocol/dataDir';

export interface Config {
  host: string;
  port: number;
  /** --node-id: this server's name in a fleet and on the tasks it runs (default HOSTNAME:PORT). */
  nodeId: string;
  /**
   * --database-url / DELEGATE_DATABASE_URL: the fleet's PostgreSQL (postgres://USER@HOST:PORT/DB);
   * undefined: SQLite in the data dir, one node. May hold a password: never logged.
   */
  databaseUrl: string | undefined;
  /**
   * --lease-ms: how long a fleet node's hold on a running attempt lasts without a heartbeat (it
   * renews every third of it; another node takes the attempt over once it runs out). Default 10 s.
   */
  leaseMs: number;
  dataDir: string;
  sandbox: 'auto' | 'bwrap' | 'docker' | 'none';
  maxParallel: number;
  /** --max-parallel-per-user: slots one GitHub user's tasks may hold at once (tasks/scheduler.ts). */
  maxParallelPerUser: number;
  model: string;
  wireApi: 'responses' | 'chat';
  /** From --token / DELEGATE_TOKEN; undefined → read or generate DATA_DIR/token. */
  token: string | undefined;
  githubApiUrl: string;
  dockerImage: string;
  openaiBaseUrl: string | undefined;
  openaiApiKey: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * What the server's own child processes (git, mount) may see of its environment: the search
   * path, the home directory (the user's git config), proxy and CA settings. Nothing else leaks in
   * (no GIT_DIR, no API keys).
   */
  hostEnv: Readonly<Record<string, string>>;
  /** DOCKER_HOST: the docker engine to use; undefined means the default socket. */
  dockerHost: string | undefined;
  /** DELEGATE_SANDBOX_UID: the host uid sandboxed commands run as (default 1500). */
  sandboxUid: number;
  /** DELEGATE_NODE_SPAWN=1: start host processes with Node's spawn instead of the launcher. */
  nodeSpawn: boolean;
  /** --allow-uncapped: run tasks even where sandboxes cannot be capped in memory or disk. */
  allowUncapped: boolean;
  /** --no-spares: no sandbox is started ahead of its task (sandbox/spares.ts). */
  spares: boolean;
  /** --allowed-hosts: names besides loopback's and --host's that Host and Origin may carry (api/hostPolicy.ts). */
  allowedHosts: string[];
  /** --no-repo-watch: scan the user's repository with git for every task (workspace/watchedScanner.ts). */
  repoWatch: boolean;
  /** --no-flatten-bases: no deep stack of base layers is checked out whole in the background (workspace/bases.ts flattenBase). */
  flattenBases: boolean;
  /** --no-prepare-ahead: a local repository's new commit waits for its first task to be copied and get its base (workspace/ahead.ts). */
  prepareAhead: boolean;
  /**
   * --github-allow / DELEGATE_GITHUB_ALLOW: GitHub logins (lowercase) and `org:NAME` entries whose
   * GitHub token is accepted as a user's credential (api/githubAuth.ts); empty: GitHub sign-in is off.
   */
  githubAllow: string[];
  /** How long a GitHub token's verdict is kept in memory (at most 5 minutes; DELEGATE_GITHUB_AUTH_CACHE_MS for tests). */
  githubAuthCacheMs: number;
  /** --github-web-url: GitHub's web root, where the OAuth sign-in pages are (default https://github.com). */
  githubWebUrl: string;
  /**
   * --github-oauth-client-id and DELEGATE_GITHUB_OAUTH_CLIENT_SECRET: the OAuth app the web interface
   * signs users in with (api/oauth.ts); undefined: no GitHub sign-in page. The secret is never logged.
   */
  githubOAuth: { clientId: string; clientSecret: string } | undefined;
  /**
   * --setup-secret NAME (repeatable): the value of NAME in the server's environment, given to the
   * setup step of an environment that names it (environments/) and nothing else. Never logged.
   */
  setupSecrets: Readonly<Record<string, string>>;
  /** --environment-cache-mb / --environment-cache-days: the bounds of the cache of set-up layers. */
  environmentCache: { maxBytes: number; maxAgeMs: number };
}

/** The environment variables that pass into the server's own child processes (see Config.hostEnv). */
const HOST_ENV = [
  'PATH', 'HOME', 'XDG_CONFIG_HOME', 'TMPDIR', 'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY',
  'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
] as const;

export function hostEnvOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: '/usr/bin:/bin' };
  for (const k of HOST_ENV) {
    const v = env[k];
    if (v) out[k] = v;
  }
  return out;
}

export const HELP = `Usage: delegate-server [options]

Runs the Delegate companion server: an HTTP + WebSocket API on loopback that takes coding tasks from
the VS Code extension and runs an AI agent on them inside a sandbox.

Options:
  --host HOST            Address to bind (default 127.0.0.1; anything else is reachable from the
                         network — the token is still required)
  --port PORT            Port (default 7420; 0 picks a free one)
  --data-dir DIR         SQLite store, repositories, workspaces, token
  --database-url URL     Join a fleet: every node given the same PostgreSQL
                         (postgres://USER@HOST:PORT/DATABASE) shares tasks, events and the queue;
                         without it the store is SQLite in the data dir
  --node-id NAME         This node's name in the fleet and on its tasks (default HOSTNAME:PORT)
  --lease-ms N           A fleet node's lease on the tasks it runs (default 10000): a node that
                         stops renewing it (dead, cut off) has its tasks resumed elsewhere after it
                         (default $DELEGATE_DATA_DIR; as root /var/lib/delegate; else
                         $XDG_DATA_HOME/delegate or ~/.local/share/delegate)
  --sandbox KIND         auto | bwrap | docker | none (default auto: docker when an engine answers,
                         else bubblewrap; "none" runs commands UNSANDBOXED on this machine)
  --max-parallel N       Agents running at once (default: number of cores, at least 2)
  --max-parallel-per-user N
                         Slots one signed-in user's tasks may hold at once (default: half of
                         --max-parallel, at least 1); users' queues take turns for free slots.
                         In a fleet (--database-url) it counts across every node
  --model NAME           Default model (default gpt-5-codex); tasks may choose another
  --wire-api API         responses | chat (default responses; chat for OpenAI-compatible servers
                         that only speak Chat Completions)
  --token TOKEN          API token (default $DELEGATE_TOKEN, else generated into DATA_DIR/token)
  --github-api-url URL   GitHub API root (default https://api.github.com; GitHub Enterprise:
                         https://HOST/api/v3)
  --docker-image NAME    Image for the docker sandbox (default delegate-sandbox:bookworm)
  --log-level LEVEL      debug | info | warn | error (default info)
  --allow-uncapped       Run tasks even where sandboxes cannot be capped in memory or disk (an
                         ordinary user without a delegated cgroup); without it they are refused
  --no-spares            Start each sandbox when its task asks for it, none ahead
  --allowed-hosts LIST   Comma-separated names this server also answers to (a team server's DNS
                         names). A request whose Host is none of these, of loopback's (on a
                         loopback --host) or of --host, and a browser page of another origin, get 403
  --github-allow LIST    Comma-separated GitHub logins and org:NAME entries: they may call the API
                         with their own GitHub token and see only their own tasks (the server
                         token stays the admin's and sees everything)
  --github-web-url URL   GitHub's web root for the OAuth sign-in (default https://github.com;
                         GitHub Enterprise: https://HOST)
  --github-oauth-client-id ID
                         The OAuth app the web interface signs users in with (needs --github-allow
                         and DELEGATE_GITHUB_OAUTH_CLIENT_SECRET; its callback URL is
                         https://THIS-SERVER/auth/github/callback)
  --setup-secret NAME    Give the value of NAME (from this server's environment) to the setup step
                         of environments that list it in "secrets"; repeatable. Never reaches the
                         agent's commands, events, logs, snapshots or the cached layer
  --environment-cache-mb N, --environment-cache-days N
                         Bounds of the cache of set-up layers (default 10240 MB, 7 days; least
                         recently used first)
  --no-repo-watch        Scan a local repository for uncommitted changes with git for every task,
                         without watching it (inotify) for changes between tasks
  --no-flatten-bases     Do not check out a commit whose base is a deep stack of layers in the
                         background; the first task on a new commit then waits for that checkout
                         when the stack is full
  --no-prepare-ahead     Do not watch a local repository a task used for new commits; the first
                         task on a new commit then copies it and builds its base itself
  -h, --help             Show this help

Environment:
  OPENAI_BASE_URL, OPENAI_API_KEY   The model endpoint (any OpenAI-compatible server)
  DELEGATE_TOKEN, DELEGATE_DATA_DIR As --token and --data-dir
  DELEGATE_DATABASE_URL             As --database-url (keeps the password off the command line)
  DOCKER_HOST                       The docker engine (default unix:///var/run/docker.sock)
  DELEGATE_SANDBOX_UID              Host uid sandboxed commands run as (default 1500)
  DELEGATE_ALLOWED_HOSTS            As --allowed-hosts
  DELEGATE_GITHUB_ALLOW             As --github-allow
  DELEGATE_GITHUB_OAUTH_CLIENT_SECRET  The secret of the --github-oauth-client-id app
  PATH, HOME, XDG_CONFIG_HOME, TMPDIR, proxy (http_proxy, https_proxy, no_proxy) and CA
  (GIT_SSL_CAINFO, GIT_SSL_CAPATH, SSL_CERT_FILE, SSL_CERT_DIR) settings pass to git; nothing else
`;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): Config | 'help' {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'node-id': { type: 'string' },
        'database-url': { type: 'string' },
        'lease-ms': { type: 'string' },
        'data-dir': { type: 'string' },
        sandbox: { type: 'string' },
        'max-parallel': { type: 'string' },
        'max-parallel-per-user': { type: 'string' },
        model: { type: 'string' },
        'wire-api': { type: 'string' },
        token: { type: 'string' },
        'github-api-url': { type: 'string' },
        'docker-image': { type: 'string' },
        'log-level': { type: 'string' },
        'allow-uncapped': { type: 'boolean' },
        'no-spares': { type: 'boolean' },
        'allowed-hosts': { type: 'string' },
        'no-repo-watch': { type: 'boolean' },
        'no-flatten-bases': { type: 'boolean' },
        'no-prepare-ahead': { type: 'boolean' },
        'github-allow': { type: 'string' },
        'github-web-url': { type: 'string' },
        'github-oauth-client-id': { type: 'string' },
        'setup-secret': { type: 'string', multiple: true },
        'environment-cache-mb': { type: 'string' },
        'environment-cache-days': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  const str = (k: string) => values[k] as string | undefined;
  const port = Number(str('port') ?? 7420);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port: not a port: ${str('port')}`);
  const nodeId = str('node-id') ?? `${hostname()}:${port}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/.test(nodeId)) throw new ConfigError(`--node-id: letters, digits and . _ : @ - (at most 128), got ${JSON.stringify(nodeId)}`);
  const databaseUrl = str('database-url') ?? (env.DELEGATE_DATABASE_URL || undefined);
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\/[^/]/.test(databaseUrl)) throw new ConfigError('--database-url: expected postgres://USER@HOST:PORT/DATABASE');
  const leaseMs = Number(str('lease-ms') ?? 10_000);
  if (!Number.isInteger(leaseMs) || leaseMs < 300 || leaseMs > 600_000) throw new ConfigError(`--lease-ms: expected 300..600000, got ${str('lease-ms')}`);
  const maxParallel = Number(str('max-parallel') ?? Math.max(2, availableParallelism()));
  if (!Number.isInteger(maxParallel) || maxParallel < 1 || maxParallel > 256) {
    throw new ConfigError(`--max-parallel: expected 1..256, got ${str('max-parallel')}`);
  }
  const maxParallelPerUser = Number(str('max-parallel-per-user') ?? Math.max(1, Math.floor(maxParallel / 2)));
  // In a fleet the cap counts a user's attempts on every node (store claimQueued), so it may exceed
  // one node's slots; alone it cannot usefully.
  const perUserMax = databaseUrl === undefined ? maxParallel : 256;
  if (!Number.isInteger(maxParallelPerUser) || maxParallelPerUser < 1 || maxParallelPerUser > perUserMax) {
    throw new ConfigError(`--max-parallel-per-user: expected 1..${perUserMax}${databaseUrl === undefined ? ' (--max-parallel)' : ''}, got ${str('max-parallel-per-user')}`);
  }
  const sandbox = str('sandbox') ?? 'auto';
  if (!['auto', 'bwrap', 'docker', 'none'].includes(sandbox)) throw new ConfigError(`--sandbox: expected auto|bwrap|docker|none, got ${sandbox}`);
  const wireApi = str('wire-api') ?? 'responses';
  if (wireApi !== 'responses' && wireApi !== 'chat') throw new ConfigError(`--wire-api: expected responses|chat, got ${wireApi}`);
  const logLevel = str('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`--log-level: expected debug|info|warn|error`);
  const githubApiUrl = (str('github-api-url') ?? 'https://api.github.com').replace(/\/+$/, '');
  try {
    new URL(githubApiUrl);
  } catch {
    throw new ConfigError(`--github-api-url: not a URL: ${githubApiUrl}`);
  }
  const token = str('token') ?? (env.DELEGATE_TOKEN || undefined);
  if (token !== undefined && token.length < 16) throw new ConfigError('the token must be at least 16 characters');
  const allowedHosts = (str('allowed-hosts') ?? env.DELEGATE_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const badHost = allowedHosts.find((h) => !/^([a-z0-9-]+\.)*[a-z0-9-]+\.?$|^\[?[0-9a-f:.]+\]?$/.test(h));
  if (badHost !== undefined) throw new ConfigError(`--allowed-hosts: not a host name: ${badHost} (names only, no scheme or port)`);
  const githubAllow = (str('github-allow') ?? env.DELEGATE_GITHUB_ALLOW ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const badAllow = githubAllow.find((a) => !/^(org:)?[a-z0-9](?:[a-z0-9-]{0,38})$/.test(a));
  if (badAllow !== undefined) throw new ConfigError(`--github-allow: not a GitHub login or org:NAME: ${badAllow}`);
  const githubAuthCacheMs = Number(env.DELEGATE_GITHUB_AUTH_CACHE_MS || 300_000);
  if (!Number.isInteger(githubAuthCacheMs) || githubAuthCacheMs < 0 || githubAuthCacheMs > 300_000) {
    throw new ConfigError(`DELEGATE_GITHUB_AUTH_CACHE_MS: expected 0..300000, got ${env.DELEGATE_GITHUB_AUTH_CACHE_MS}`);
  }
  const githubWebUrl = (str('github-web-url') ?? 'https://github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(githubWebUrl) || !URL.canParse(githubWebUrl)) throw new ConfigError(`--github-web-url: not an http(s) URL: ${githubWebUrl}`);
  const githubOAuth = oauthOf(str('github-oauth-client-id'), env.DELEGATE_GITHUB_OAUTH_CLIENT_SECRET, githubAllow);
  const setupSecrets = setupSecretsOf(values['setup-secret'] as string[] | undefined, env);
  const cacheMb = Number(str('environment-cache-mb') ?? 10240);
  const cacheDays = Number(str('environment-cache-days') ?? 7);
  if (!(cacheMb >= 0) || !(cacheDays >= 0)) throw new ConfigError('--environment-cache-mb and --environment-cache-days: expected numbers >= 0');
  const sandboxUid = Number(env.DELEGATE_SANDBOX_UID || 1500);
  if (!Number.isInteger(sandboxUid) || sandboxUid < 1 || sandboxUid > 2 ** 31) throw new ConfigError(`DELEGATE_SANDBOX_UID: not a uid: ${env.DELEGATE_SANDBOX_UID}`);
  return {
    host: str('host') ?? '127.0.0.1',
    port,
    nodeId,
    databaseUrl,
    leaseMs,
    dataDir: str('data-dir') ?? defaultDataDir(env, uid),
    sandbox: sandbox as Config['sandbox'],
    maxParallel,
    maxParallelPerUser,
    model: str('model') ?? 'gpt-5-codex',
    wireApi,
    token,
    githubApiUrl,
    dockerImage: str('docker-image') ?? 'delegate-sandbox:bookworm',
    openaiBaseUrl: env.OPENAI_BASE_URL || undefined,
    openaiApiKey: env.OPENAI_API_KEY || undefined,
    logLevel: logLevel as Config['logLevel'],
    hostEnv: hostEnvOf(env),
    dockerHost: env.DOCKER_HOST || undefined,
    sandboxUid,
    nodeSpawn: env.DELEGATE_NODE_SPAWN === '1',
    allowUncapped: values['allow-uncapped'] === true,
    setupSecrets,
    environmentCache: { maxBytes: Math.floor(cacheMb * 1024 * 1024), maxAgeMs: Math.floor(cacheDays * 86_400_000) },
    spares: values['no-spares'] !== true,
    allowedHosts,
    repoWatch: values['no-repo-watch'] !== true,
    flattenBases: values['no-flatten-bases'] !== true,
    prepareAhead: values['no-prepare-ahead'] !== true,
    githubAllow,
    githubAuthCacheMs,
    githubWebUrl,
    githubOAuth,
  };
}

/** The OAuth app of the web sign-in: both halves or neither, and only where GitHub users are admitted. */
function oauthOf(clientId: string | undefined, secret: string | undefined, allow: readonly string[]): Config['githubOAuth'] {
  if (clientId === undefined) return undefined;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(clientId)) throw new ConfigError('--github-oauth-client-id: not an OAuth client id');
  if (!secret) throw new ConfigError('--github-oauth-client-id needs the app\'s secret in DELEGATE_GITHUB_OAUTH_CLIENT_SECRET');
  if (allow.length === 0) throw new ConfigError('--github-oauth-client-id needs --github-allow: without it no GitHub user may use this server');
  return { clientId, clientSecret: secret };
}

/** --setup-secret NAME…: each value from the environment; a name that is not set is an error. */
function setupSecretsOf(names: string[] | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) throw new ConfigError(`--setup-secret: not an environment variable name: ${name}`);
    const value = env[name];
    if (!value) throw new ConfigError(`--setup-secret ${name}: ${name} is not set in the server's environment`);
    out[name] = value;
  }
  return out;
}
