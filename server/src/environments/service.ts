// Environments for tasks: which one a task works in (resolve.ts), its setup run once per commit and
// environment and kept as a read-only layer under every later task's view (layerCache.ts,
// build.ts). The workspace manager asks for the layer while it prepares a view (SetupLayerSource);
// the runner says which task a workspace is for (begin) and runs what could not become a layer (a
// plain checkout, without overlay mounts: setup then runs over the task's own view, every time).
import type { EnvironmentSpec, EventInput, TaskError, TaskOptions } from '../../../protocol';
import { Scrubber, type Logger } from '../log';
import type { SandboxDriver } from '../sandbox/types';
import { DEFAULT_LIMITS } from '../sandbox/types';
import { git, type Host } from '../workspace/git';
import { KeyedLock } from '../workspace/keyedLock';
import type { SetupLayer, SetupLayerRequest, SetupLayerSource, Workspace } from '../workspace/types';
import { readState } from '../workspace/workspace';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildLayer, findSecrets, settleLayer, SETUP_TIMEOUT_MS } from './build';
import { LayerCache, type CacheBounds } from './layerCache';
import { environmentKey, resolveEnvironment, readFromLayers, type Environment, type Resolved } from './resolve';

export interface EnvironmentsOptions {
  dataDir: string;
  host: Host;
  uid: number;
  driver: SandboxDriver | null;
  /** The docker driver's own image (part of the cache key); undefined for bwrap. */
  defaultImage: string | undefined;
  /** --setup-secret values by name (Config.setupSecrets). */
  secrets: Readonly<Record<string, string>>;
  cache: CacheBounds;
  log: Logger;
}

type Emit = (event: EventInput) => void;

/** What the runner holds for one attempt, from before its workspace is prepared to its end. */
export interface AttemptEnvironment {
  /** The docker image its sandboxes use (undefined: the driver's). */
  image(): string | undefined;
  /** Resolves the environment if preparing did not (a reopened workspace, a plain checkout). */
  ready(workspace: Workspace): Promise<TaskError | undefined>;
  /**
   * Runs the setup that is not in a layer under the view (a plain checkout); `ran`: it changed
   * the view, whose changes the caller records. Nothing to do for a workspace on a set-up layer.
   */
  setup(workspace: Workspace, signal: AbortSignal): Promise<{ ran: boolean; error?: TaskError }>;
  end(): void;
}

interface Expectation {
  options: TaskOptions;
  emit: Emit;
  resolved?: Resolved;
  /** A layer handed to the manager for this attempt: pinned until end(). */
  layer?: string;
}

export class Environments implements SetupLayerSource {
  readonly cache: LayerCache;
  private readonly expected = new Map<string, Expectation>();
  private readonly builds = new KeyedLock();
  private readonly scrubber: Scrubber;
  private swept: Promise<unknown> | undefined;
  private readonly trees = new Map<string, string>();

  constructor(private readonly options: EnvironmentsOptions) {
    this.cache = new LayerCache(options.dataDir, options.host.runner, options.cache, options.log);
    this.scrubber = new Scrubber(Object.values(options.secrets));
  }

  begin(key: string, options: TaskOptions, emit: Emit): AttemptEnvironment {
    const expectation: Expectation = { options, emit };
    this.expected.set(key, expectation);
    return {
      image: () => (expectation.resolved?.ok ? expectation.resolved.image : undefined),
      ready: async (workspace) => {
        expectation.resolved ??= await resolveEnvironment(options, (path) => workspace.readVersion('base', path));
        return expectation.resolved.ok ? undefined : { code: 'setup_failed', message: expectation.resolved.message };
      },
      setup: (workspace, signal) => this.setupInView(expectation, workspace, signal),
      end: () => {
        if (this.expected.get(key) === expectation) this.expected.delete(key);
      },
    };
  }

  /**
   * A workspace prepared with no run of it here (a fleet node serving the diff of an attempt another
   * node ran): its layer is found or built as for a run, so the saved work applies on the same tree;
   * the setup's events are only logged. An attempt begun on this node keeps its own expectation.
   */
  reading(key: string, options: TaskOptions): () => void {
    if (this.expected.has(key)) return () => undefined;
    const log = this.options.log;
    const attempt = this.begin(key, options, (event) => {
      if (event.type === 'setup.finished') log.info('set-up layer for a workspace prepared to read', { key, cached: event.cached, exitCode: event.exitCode });
    });
    return () => attempt.end();
  }

  dirOf(id: string): string {
    return this.cache.dirOf(id);
  }

  async find(id: string): Promise<SetupLayer | null> {
    return this.cache.lookup(id);
  }

  async layerFor(req: SetupLayerRequest): Promise<SetupLayer | null> {
    const expectation = this.expected.get(req.key);
    const driver = this.options.driver;
    if (!expectation || !driver || driver.name === 'none') return null;
    const resolved = (expectation.resolved = await resolveEnvironment(expectation.options, readFromLayers(req.baseLayers)));
    if (!resolved.ok) throw setupFailed(resolved.message);
    // bwrap has no image: it runs the host's /usr. Said, so a repository's image is not assumed.
    if (resolved.image && driver.name !== 'docker') expectation.emit({ type: 'setup.log', text: `(the image ${resolved.image} is for the docker sandbox; this server's ${driver.name} sandbox runs the host's /usr)` });
    const environment = resolved.environment;
    if (!environment) return null;
    const secrets = this.secretsFor(environment.spec);
    if (typeof secrets === 'string') throw setupFailed(secrets);
    await req.mirrored;
    const commitTree = await this.treeOf(req.commit, req.mirrorDir);
    const image = driver.name === 'docker' ? environment.spec.image : undefined;
    const key = environmentKey(commitTree, environment, { driver: driver.name, image: this.options.defaultImage });
    const emit = expectation.emit;
    // One build per key at a time: a second task on the same commit waits and takes the result.
    return this.builds.run(key, async () => {
      const started = Date.now();
      const hit = await this.cache.lookup(key);
      if (hit) {
        expectation.layer = key;
        emit({ type: 'setup.started', cached: true });
        emit({ type: 'setup.finished', cached: true, ms: Date.now() - started, exitCode: 0 });
        return hit;
      }
      await (this.swept ??= this.cache.sweep());
      emit({ type: 'setup.started', cached: false });
      emit({ type: 'setup.log', text: `$ setup from ${environment.from} (${environment.spec.network ? 'network on' : 'network off'}${image ? `, image ${image}` : ''})` });
      const lines = new LineEmitter((text) => emit({ type: 'setup.log', text: this.scrubber.scrub(text) }));
      const tmp = await this.cache.temp();
      let kept = false;
      let ended = false;
      try {
        const result = await buildLayer({ tmp, environment, image, commit: req.commit, commitTree, mirrorDir: req.mirrorDir, baseLayers: req.baseLayers, baseIndex: req.baseIndex, host: this.options.host, uid: this.options.uid, driver, secrets, signal: req.signal, onOutput: (chunk) => lines.push(chunk) });
        lines.flush();
        ended = true;
        emit({ type: 'setup.finished', cached: false, ms: Date.now() - started, exitCode: result.exitCode });
        if (!result.ok) throw setupFailed(this.scrubber.scrub(result.message));
        const bytes = await settleLayer(tmp);
        await this.cache.commit(tmp, key, { version: 1, tree: result.tree, bytes, createdAt: new Date().toISOString(), ...(image ? { image } : {}), ...(result.commit ? { commits: { [req.commit]: result.commit } } : {}) });
        kept = true;
        expectation.layer = key;
        this.options.log.info('set-up layer built', { key, ms: Date.now() - started, bytes });
        void this.cache.evict((id) => this.pinned(id)).catch((err: unknown) => this.options.log.warn('evicting set-up layers failed', { err: err as Error }));
        const layer = await this.cache.lookup(key);
        if (!layer) throw new Error(`the set-up layer ${key} vanished once built`);
        return layer;
      } finally {
        lines.flush();
        // Cancelled, or the sandbox broke: the step still ends, without an exit code.
        if (!ended) emit({ type: 'setup.finished', cached: false, ms: Date.now() - started, exitCode: null });
        if (!kept) await this.cache.discard(tmp);
      }
    });
  }

  /** A commit's tree (commits never change: remembered, a git process saved on every later task). */
  private async treeOf(commit: string, gitDir: string): Promise<string> {
    const known = this.trees.get(commit);
    if (known) return known;
    const tree = await git(['rev-parse', `${commit}^{tree}`], { host: this.options.host, gitDir });
    if (this.trees.size >= 4096) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(commit, tree);
    return tree;
  }

  /** Removes what servers that died mid-setup left, and layers beyond the cache's bounds. */
  async sweep(): Promise<void> {
    await (this.swept ??= this.cache.sweep());
    await this.cache.evict((id) => this.pinned(id));
  }

  /** A layer is kept while an attempt holds it or a workspace stacks on it. */
  private async pinned(id: string): Promise<boolean> {
    for (const e of this.expected.values()) if (e.layer === id) return true;
    const tasks = join(this.options.dataDir, 'tasks');
    for (const name of await readdir(tasks).catch(() => [] as string[])) {
      if ((await readState(join(tasks, name)))?.setupLayer?.id === id) return true;
    }
    return false;
  }

  private secretsFor(spec: EnvironmentSpec): Record<string, string> | string {
    const out: Record<string, string> = {};
    for (const name of spec.secrets ?? []) {
      const value = this.options.secrets[name];
      if (value === undefined) return `the environment asks for the setup secret ${name}, which this server does not have (start it with --setup-secret ${name})`;
      out[name] = value;
    }
    return out;
  }

  /** Setup over the task's own view, in a sandbox of its own (its secrets never in the agent's). */
  private async setupInView(expectation: Expectation, workspace: Workspace, signal: AbortSignal): Promise<{ ran: boolean; error?: TaskError }> {
    const driver = this.options.driver;
    if (workspace.setupLayer || !driver || !expectation.resolved?.ok) return { ran: false };
    const environment: Environment | null = expectation.resolved.environment;
    if (!environment) return { ran: false };
    const secrets = this.secretsFor(environment.spec);
    if (typeof secrets === 'string') return { ran: false, error: { code: 'setup_failed', message: secrets } };
    const { emit } = expectation;
    const started = Date.now();
    const image = driver.name === 'docker' ? environment.spec.image : undefined;
    emit({ type: 'setup.started', cached: false });
    emit({ type: 'setup.log', text: `$ setup from ${environment.from} (${environment.spec.network ? 'network on' : 'network off'})` });
    const lines = new LineEmitter((text) => emit({ type: 'setup.log', text: this.scrubber.scrub(text) }));
    const sandbox = await driver.create({ id: `${workspace.key}-setup`, workspaceDir: workspace.dir, gitDir: workspace.gitDir, limits: DEFAULT_LIMITS, network: environment.spec.network === true, ...(image ? { image } : {}) });
    try {
      const result = await sandbox.exec(environment.spec.setup, { env: { ...environment.spec.env, ...secrets }, signal, timeoutMs: SETUP_TIMEOUT_MS, onStdout: (c) => lines.push(c), onStderr: (c) => lines.push(c) });
      lines.flush();
      signal.throwIfAborted();
      emit({ type: 'setup.finished', cached: false, ms: Date.now() - started, exitCode: result.sandboxError ? null : result.exitCode });
      if (result.sandboxError) return { ran: true, error: { code: 'setup_failed', message: `the setup script could not run: ${result.sandboxError}` } };
      if (result.exitCode !== 0) {
        const why = result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`;
        return { ran: true, error: { code: 'setup_failed', message: this.scrubber.scrub(`the setup script ${why}: ${(result.stderr || result.stdout).slice(-2000)}`) } };
      }
      const leaked = await findSecrets(workspace.dir, Object.values(secrets));
      if (leaked.length > 0) return { ran: true, error: { code: 'setup_failed', message: `the setup wrote a setup secret into ${leaked.slice(0, 5).join(', ')}` } };
      return { ran: true };
    } finally {
      await sandbox.dispose();
    }
  }
}

function setupFailed(message: string): Error {
  return Object.assign(new Error(message), { code: 'setup_failed' });
}

/**
 * Output as whole lines (a secret split across two chunks would escape the scrubber), at most
 * 8 KiB an event; what is left is flushed at the end.
 */
class LineEmitter {
  private pending = '';
  constructor(private readonly out: (text: string) => void) {}
  push(chunk: string): void {
    this.pending += chunk;
    const cut = this.pending.lastIndexOf('\n');
    if (cut < 0 && this.pending.length < 8192) return;
    const whole = cut < 0 ? this.pending : this.pending.slice(0, cut);
    this.pending = cut < 0 ? '' : this.pending.slice(cut + 1);
    for (let i = 0; i < whole.length; i += 8192) this.out(whole.slice(i, i + 8192));
  }
  flush(): void {
    if (this.pending) this.out(this.pending);
    this.pending = '';
  }
}
