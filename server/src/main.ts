// The server's composition root: configuration → store → sandbox/workspaces/agent → scheduler →
// HTTP + WebSocket. Everything is built here and passed through constructors.
import { createServer } from 'node:http';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { ModelHealth } from './agent/modelHealth';
import { PROTOCOL_VERSION } from '../../protocol';
import { ConfigError, HELP, parseConfig, type Config } from './config';
import { createLogger, Scrubber, type Logger } from './log';
import { SqliteStore } from './store/sqlite';
import { PostgresStore, StoreOpenError } from './store/postgres';
import { describeUrl } from './store/pgDb';
import type { Store } from './store/types';
import { bundleBlobKey } from './store/blobs';
import { EventBus } from './eventBus';
import { answerClientError, createRequestHandler } from './api/http';
import { hostPolicy, isLoopback } from './api/hostPolicy';
import { Authenticator } from './api/githubAuth';
import { EventStream } from './api/events';
import { routes } from './api/routes';
import { Scheduler } from './tasks/scheduler';
import { DiffRecorder } from './tasks/diffRecorder';
import { Questions } from './tasks/questions';
import { TaskRunner } from './tasks/runner';
import { TaskService } from './tasks/service';
import { TaskEvents } from './tasks/taskEvents';
import { WorkspaceCache } from './tasks/workspaceCache';
import { WorkTransfer } from './workspace/workTransfer';
import { Fleet } from './fleet/fleet';
import { createSandboxDriver } from './sandbox';
import { Environments } from './environments/service';
import { hostToolchains } from './environments/toolchains';
import { createWorkspaceManager, RepoWatches } from './workspace';
import { runAgent } from './agent';
import { PullRequestService } from './github/pullRequestService';
import { processRunnerFor } from './util/launcher';

export const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<void> {
  let config: Config | 'help';
  try {
    config = parseConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`delegate-server: ${err.message}\n\n${HELP}`);
      process.exit(2);
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(HELP);
    return;
  }
  // The handlers are in place before the server starts: a signal that comes while it starts (or
  // right after it says it listens) still closes it, and it leaves no mount or sandbox behind.
  // Whoever read our stderr/stdout may go away (a closed terminal, a supervisor that stopped):
  // a log write then fails with EPIPE, which must lose that line, not the server or its cleanup.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const started = startServer(config);
  const stop = (signal: string) => {
    started
      .then((server) => {
        server.log.info('shutting down', { signal });
        return server.close();
      })
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await started.catch((err: unknown) => {
    // A store that cannot open (an unreachable database, a schema of another version): say which, and stop.
    if (!(err instanceof StoreOpenError)) throw err;
    process.stderr.write(`delegate-server: ${err.message}\n`);
    process.exit(1);
  });
}

export interface RunningServer {
  url: string;
  log: Logger;
  close(): Promise<void>;
}

function resolveToken(config: Config, log: Logger): string {
  if (config.token) return config.token;
  const file = join(config.dataDir, 'token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return token;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  log.info('generated an API token', { file });
  return token;
}

/** A fleet's shared store (--database-url); its password never reaches a log line. */
async function openFleetStore(url: string, scrubber: Scrubber, log: Logger): Promise<Store> {
  const password = URL.canParse(url) ? decodeURIComponent(new URL(url).password) : '';
  if (password) scrubber.add(password);
  const slog = log.child({ component: 'store' });
  const store = await PostgresStore.open(url, { log: (message, err) => slog.warn(message, { err }) });
  slog.info('fleet store opened', { database: describeUrl(url) });
  return store;
}

export async function startServer(config: Config): Promise<RunningServer> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o711 });
  // The sandbox user must be able to pass through the data dir to its workspace (o+x only: it
  // cannot list it). The token and the database inside are 0600.
  chmodSync(config.dataDir, (statSync(config.dataDir).mode & 0o777) | 0o011);
  const scrubber = new Scrubber();
  scrubber.add(config.openaiApiKey);
  for (const secret of Object.values(config.setupSecrets)) scrubber.add(secret);
  const log = createLogger({ level: config.logLevel, scrubber });
  const token = resolveToken(config, log);
  scrubber.add(token);
  // The web sign-in's OAuth app secret (api/oauth.ts) never reaches a log line either.
  if (config.githubOAuth) scrubber.add(config.githubOAuth.clientSecret);
  if (!isLoopback(config.host)) {
    log.warn('LISTENING BEYOND LOOPBACK: anyone who can reach this address and has the token can run code in sandboxes here', { host: config.host });
  }

  // The one choice of how the server starts processes: the launcher (started now, while the rest
  // is set up) unless DELEGATE_NODE_SPAWN=1.
  const processes = processRunnerFor(config.nodeSpawn ? 'spawn' : 'launcher');
  const processHost = { runner: processes, env: config.hostEnv };
  const store: Store = config.databaseUrl ? await openFleetStore(config.databaseUrl, scrubber, log) : new SqliteStore(join(config.dataDir, 'delegate.sqlite'));
  const bus = new EventBus();
  // The bus hears every committed event through the store (a fleet's store: every node's).
  store.onEvents((committed) => bus.publish(committed));
  const events = new TaskEvents(store);
  const sandbox = await createSandboxDriver(config.sandbox, { dataDir: config.dataDir, dockerImage: config.dockerImage, dockerSocket: config.dockerHost, log: log.child({ component: 'sandbox' }), spares: config.spares ? 2 : 0, allowUncapped: config.allowUncapped, uid: config.sandboxUid, runner: processes });
  if (!sandbox.driver) log.error('no sandbox can run here; tasks will fail until this is fixed', { reason: sandbox.reason });
  else if (sandbox.driver.name === 'none') log.warn('SANDBOX DISABLED (--sandbox none): agent commands run directly on this machine as this user');
  const watches = config.repoWatch ? new RepoWatches({ log: log.child({ component: 'repoWatch' }) }) : undefined;
  const environments = new Environments({ dataDir: config.dataDir, host: processHost, uid: config.sandboxUid, driver: sandbox.driver, defaultImage: sandbox.driver?.name === 'docker' ? config.dockerImage : undefined, secrets: config.setupSecrets, cache: config.environmentCache, log: log.child({ component: 'environments' }) });
  const manager = createWorkspaceManager({ dataDir: config.dataDir, sandboxUid: config.sandboxUid, host: processHost, log: log.child({ component: 'workspace' }), watches, flattenBases: config.flattenBases, prepareAhead: config.prepareAhead, fetchBundle: (id) => store.getBlob(bundleBlobKey(id)), setupLayers: environments });
  await manager.releaseLeftovers();
  await environments.sweep();
  // Once, by file: a bwrap sandbox runs the host's /usr, so its toolchains are the host's.
  const toolchains = sandbox.driver?.name === 'bwrap' ? await hostToolchains() : undefined;
  // A fleet node's disk is only a cache: each attempt's work also lives in the store.
  const transfer = store.kind === 'postgres' ? new WorkTransfer({ store, host: processHost, sandboxUid: config.sandboxUid, log: log.child({ component: 'work' }) }) : undefined;
  const workspaces = new WorkspaceCache(manager, store, transfer, environments);
  const client = config.openaiApiKey || config.openaiBaseUrl
    ? new OpenAI({ apiKey: config.openaiApiKey ?? 'not-needed', baseURL: config.openaiBaseUrl, maxRetries: 0, timeout: 10 * 60_000, logLevel: 'off' })
    : null;
  const modelHealth = new ModelHealth(client, config.openaiBaseUrl);
  void modelHealth.check();
  modelHealth.followTasks(bus);
  if (!client) log.warn('no model endpoint configured (OPENAI_API_KEY / OPENAI_BASE_URL); tasks will fail with model_not_configured');

  let shuttingDown = false;
  const questions = new Questions(events);
  const recorder = new DiffRecorder({ store, events, log, transfer });
  const scheduler = new Scheduler(config.maxParallel, (key, err) => log.error('job crashed', { key, err: err as Error }), config.maxParallelPerUser);
  let fleet: Fleet | undefined;
  const runner = new TaskRunner({ store, events, workspaces, driver: sandbox.driver, driverReason: sandbox.reason, client, runAgent, config, log, questions, recorder, environments, isShuttingDown: () => shuttingDown, handOver: (job, patch) => fleet?.handOver(job, patch) ?? Promise.resolve(false) });
  let url = '';
  if (store.kind === 'postgres') {
    fleet = new Fleet({ store, events, scheduler, questions, run: (job, signal, lease) => runner.run(job, signal, lease), nodeId: config.nodeId, url: () => url, maxParallel: config.maxParallel, maxParallelPerUser: config.maxParallelPerUser, leaseMs: config.leaseMs, isShuttingDown: () => shuttingDown, log: log.child({ component: 'fleet' }) });
    const held = fleet.heartbeat;
    if (transfer) transfer.holds = (key) => held.guardOf(key) !== undefined;
  }
  const tasks = new TaskService({ store, events, scheduler, runner, workspaces, questions, recorder, log, fleet });
  const pullRequests = new PullRequestService({
    store,
    events,
    workspaceOf: (taskId) => tasks.workspace(taskId),
    githubApiUrl: config.githubApiUrl,
    hostEnv: config.hostEnv,
    runner: processes,
    scrubber,
    log: log.child({ component: 'github' }),
  });
  await tasks.recover();

  const health = async () => ({
    ...(fleet ? { fleet: await fleet.health() } : {}),
    ok: Boolean(sandbox.driver),
    version: VERSION,
    protocolVersion: PROTOCOL_VERSION,
    model: modelHealth.view(),
    sandbox: { driver: sandbox.driver?.name ?? null, ok: Boolean(sandbox.driver), ...(sandbox.reason ? { reason: sandbox.reason } : {}), ...(sandbox.uncapped ? { uncapped: sandbox.uncapped } : {}), ...(toolchains ? { toolchains } : {}) },
    auth: { github: auth.github },
  });
  const auth = new Authenticator({ adminToken: token, allow: config.githubAllow, githubApiUrl: config.githubApiUrl, cacheMs: config.githubAuthCacheMs, log: log.child({ component: 'auth' }) });
  const hosts = hostPolicy(config.host, config.allowedHosts);
  const handler = createRequestHandler({
    routes: routes({ config, host: processHost, version: VERSION, store, tasks, pullRequests, workspaces: manager, health }),
    auth,
    ownerOf: async (id) => ((await store.getTask(id)) ? store.taskOwner(id) : undefined),
    hosts,
    log,
    isShuttingDown: () => shuttingDown,
  });
  const http = createServer({ requestTimeout: 5 * 60_000, headersTimeout: 30_000, maxHeaderSize: 32 * 1024 }, handler);
  http.keepAliveTimeout = 5_000;
  const stream = new EventStream({ store, bus, auth, ownerOf: (id) => store.taskOwner(id), hosts, log, version: VERSION });
  http.on('upgrade', (req, socket, head) => stream.handleUpgrade(req, socket, head));
  http.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  url = `http://${host}:${port}`;
  // Heartbeats, then claims: the node is listed before it takes work.
  await fleet?.start();
  log.info('listening', { url, dataDir: config.dataDir, sandbox: sandbox.driver?.name ?? null, maxParallel: config.maxParallel, model: config.model, wireApi: config.wireApi, version: VERSION });

  return {
    url,
    log,
    async close() {
      shuttingDown = true;
      // A fleet node takes nothing more; what it runs is given back to the queue as it stops.
      await fleet?.stopClaiming();
      stream.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await scheduler.close('server shutting down');
      fleet?.close();
      await runner.drain();
      await workspaces.closeAll();
      await manager.stop();
      await watches?.close();
      await sandbox.driver?.close?.();
      await store.close();
      log.info('stopped');
    },
  };
}
