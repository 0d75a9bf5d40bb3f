// The link to the companion server: resolves URL + token from settings, keeps the event stream
// (reconnect + resume) feeding the task model, and reconciles the task list after every replay.
import * as vscode from 'vscode';
import { readSettings } from '../config';
import { hasAttempts } from '../model/attempts';
import type { TaskModel } from '../model/taskModel';
import type { Health } from '../../protocol';
import { ApiClient, isLoopbackUrl, type ServerEndpoint } from './apiClient';
import type { Credential, Credentials } from './credentials';
import { EventStream, type StreamState } from './eventStream';
import type { LocalServer } from './localServer';
import type { TokenSource } from './tokenSource';

/** Who the extension is to the server, as far as it knows. */
export type SignIn =
  /** The server token (or none): the single-user server, or the admin. */
  | { kind: 'token' }
  /** Signed in with the user's GitHub session. */
  | { kind: 'github'; login: string }
  /** The server takes GitHub sign-in and the user has not signed in yet. */
  | { kind: 'needed'; serverUrl: string }
  /** The server refused the GitHub account (403, its message says who may use it) or GitHub refused the token (401). */
  | { kind: 'refused'; login: string; status: number; message: string; serverUrl: string };

export class Connection implements vscode.Disposable {
  readonly api: ApiClient;
  private readonly stream: EventStream;
  private readonly disposables: vscode.Disposable[] = [];
  private offeredStart = false;
  /** An outage after we were connected is a restart, not a missing server: no start offer then. */
  private everConnected = false;
  private readonly stateEmitter = new vscode.EventEmitter<StreamState>();
  readonly onDidChangeState = this.stateEmitter.event;
  private healthValue: Health | undefined;
  private credential: Credential = { kind: 'server', token: undefined };
  private signInValue: SignIn = { kind: 'token' };
  private readonly signInEmitter = new vscode.EventEmitter<SignIn>();
  /** The sign-in state moved (signed in, needed, refused). */
  readonly onDidChangeSignIn = this.signInEmitter.event;
  private readonly healthEmitter = new vscode.EventEmitter<Health | undefined>();
  /** The server's /healthz answer changed (read at every connect and after a task failed on the model). */
  readonly onDidChangeHealth = this.healthEmitter.event;

  constructor(
    private readonly model: TaskModel,
    private readonly tokens: TokenSource,
    private readonly credentials: Credentials,
    private readonly localServer: LocalServer,
    private readonly log: vscode.LogOutputChannel,
    private readonly serverCwd: string,
  ) {
    this.api = new ApiClient(() => this.endpoint());
    this.stream = new EventStream({ endpoint: () => this.endpoint(), lastSeq: () => model.lastSeq, log });
    this.disposables.push(
      this.stateEmitter,
      this.healthEmitter,
      this.signInEmitter,
      model.onDidTransition(({ task }) => {
        if (task.status === 'failed' && task.error?.code.startsWith('model_')) void this.refreshHealth();
      }),
      this.stream,
      this.stream.onFrame((frame) => {
        if (frame.type === 'hello' && frame.lastSeq < model.lastSeq) {
          // The server lost its log (new data dir): what we hold no longer exists there.
          log.warn(`the server's log restarted at ${frame.lastSeq} (we had ${model.lastSeq}); resyncing`);
          model.reset();
          this.stream.reconnect();
          return;
        }
        model.applyFrame(frame);
        if (frame.type === 'replayed') void this.refreshTasks();
        if (frame.type === 'event' && frame.event.type === 'agent.finished' && !model.replaying) {
          // One best-of-N attempt ended while others run: the stream says nothing about its status
          // until the whole task moves, so ask for it (its "Use this one" becomes possible now).
          const task = model.get(frame.event.taskId);
          if (task && hasAttempts(task)) void this.refreshTask(task.id);
        }
      }),
      this.stream.onState((state) => this.onState(state)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('delegate.serverUrl')) {
          model.reset();
          credentials.forgetModes();
          this.stream.reconnect();
        }
      }),
      tokens.onDidChange(() => this.stream.reconnect()),
      credentials.onDidChange(() => void this.credentialsChanged()),
    );
  }

  get state(): StreamState {
    return this.stream.state;
  }

  /** The last /healthz answer of the connected server; undefined before one arrived. */
  get health(): Health | undefined {
    return this.healthValue;
  }

  async refreshHealth(): Promise<void> {
    const r = await this.api.health();
    const next = r.ok ? r.value : undefined;
    if (!r.ok) this.log.warn(`reading /healthz failed: ${r.error.message}`);
    this.healthValue = next;
    const model = next?.model;
    const modelState = !model ? 'unknown' : !model.configured ? 'missing' : model.ok ? 'ok' : 'failing';
    void vscode.commands.executeCommand('setContext', 'delegate.model', modelState);
    if (model && !model.ok) this.log.warn(`the server's model endpoint: ${model.reason ?? 'not usable'}`);
    this.healthEmitter.fire(next);
  }

  start(): void {
    void vscode.commands.executeCommand('setContext', 'delegate.connection', 'connecting');
    this.stream.start();
  }

  reconnect(): void {
    this.offeredStart = false;
    this.credentials.forgetModes();
    this.stream.reconnect();
  }

  /** Who the extension is to the server as far as it knows (see SignIn). */
  get signIn(): SignIn {
    return this.signInValue;
  }

  /** Whether the server may be given paths on this disk: only as the admin of a server on this machine. */
  async readsLocalPaths(): Promise<boolean> {
    const settings = readSettings();
    if (!isLoopbackUrl(settings.serverUrl)) return false;
    const credential = await this.credentials.resolve(settings.serverUrl, settings.localDataDir);
    return credential.kind === 'server';
  }

  /** Signs in to GitHub through VS Code, then connects with that account. */
  async signInWithGitHub(switchAccount = false): Promise<boolean> {
    const session = await this.credentials.signIn(switchAccount);
    if (!session) return false;
    // Another user sees other tasks: replay from the start as them.
    this.model.reset();
    this.reconnect();
    return true;
  }

  /** GitHub sessions changed (the Accounts menu, another extension): reconnect only if ours did. */
  private async credentialsChanged(): Promise<void> {
    const settings = readSettings();
    const next = await this.credentials.resolve(settings.serverUrl, settings.localDataDir);
    const before = this.credential;
    const same = next.kind === before.kind && (next.kind !== 'github' || (before.kind === 'github' && before.token === next.token));
    if (same) return;
    this.model.reset();
    this.stream.reconnect();
  }

  /** Throws when the server wants GitHub sign-in and there is none: requests then fail saying so. */
  async endpoint(): Promise<ServerEndpoint> {
    const settings = readSettings();
    const credential = await this.credentials.resolve(settings.serverUrl, settings.localDataDir);
    this.credential = credential;
    if (credential.kind === 'signInNeeded') {
      this.setSignIn({ kind: 'needed', serverUrl: settings.serverUrl });
      throw new Error(`the Delegate server at ${settings.serverUrl} takes GitHub sign-in: sign in with GitHub (Delegate: Sign In with GitHub) to use it`);
    }
    if (credential.kind === 'server' && this.signInValue.kind !== 'token') this.setSignIn({ kind: 'token' });
    return { url: settings.serverUrl, token: credential.token };
  }

  /** Starts the local server process, on the port of the configured loopback URL. */
  startLocalServer(): boolean {
    const settings = readSettings();
    const port = isLoopbackUrl(settings.serverUrl) ? new URL(settings.serverUrl).port || undefined : undefined;
    const started = this.localServer.start(settings.serverCommand, this.serverCwd, port);
    if (started) setTimeout(() => this.stream.reconnect(), 1500);
    return started;
  }

  /** Stops the local server this window started; false when none runs. */
  stopLocalServer(): boolean {
    return this.localServer.stop();
  }

  /** Re-reads one task (REST is the truth about fields no event carries). */
  async refreshTask(id: string): Promise<void> {
    const r = await this.api.getTask(id);
    if (r.ok) this.model.upsert(r.value);
    else this.log.warn(`reading task ${id} failed: ${r.error.message}`);
  }

  /** Re-reads the task list; the server's list decides which tasks still exist. */
  async refreshTasks(): Promise<void> {
    const known = new Set(this.model.list().map((t) => t.id));
    const r = await this.api.listTasks();
    if (!r.ok) {
      this.log.warn(`listing tasks failed: ${r.error.message}`);
      return;
    }
    // Tasks that appeared while the request was in flight are not in its answer; keep them.
    const listed = new Set(r.value.tasks.map((t) => t.id));
    for (const id of known) if (!listed.has(id)) this.model.remove(id);
    for (const task of r.value.tasks) this.model.upsert(task);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private setSignIn(next: SignIn): void {
    if (JSON.stringify(next) === JSON.stringify(this.signInValue)) return;
    this.signInValue = next;
    void vscode.commands.executeCommand('setContext', 'delegate.signIn', next.kind);
    this.signInEmitter.fire(next);
  }

  private onState(state: StreamState): void {
    const credential = this.credential;
    if (credential.kind === 'github') {
      if (state.kind === 'connected') this.setSignIn({ kind: 'github', login: credential.login });
      else if (state.kind === 'offline' && (state.status === 401 || state.status === 403)) {
        this.setSignIn({ kind: 'refused', login: credential.login, status: state.status, message: state.reason, serverUrl: readSettings().serverUrl });
      }
    }
    void vscode.commands.executeCommand('setContext', 'delegate.connection', state.kind);
    this.stateEmitter.fire(state);
    if (state.kind === 'connected') {
      this.everConnected = true;
      void this.refreshHealth();
    }
    if (state.kind === 'incompatible') {
      void vscode.window.showErrorMessage(`Delegate: ${state.reason}`, 'Reconnect', 'Settings').then((choice) => {
        if (choice === 'Reconnect') this.reconnect();
        else if (choice === 'Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'delegate.serverUrl');
      });
    }
    if (state.kind === 'offline' && !this.offeredStart && !this.everConnected) {
      const settings = readSettings();
      if (!isLoopbackUrl(settings.serverUrl) || this.localServer.running) return;
      if (!/ECONNREFUSED|connect/i.test(state.reason)) return;
      this.offeredStart = true;
      if (settings.autoStartServer) {
        this.startLocalServer();
        return;
      }
      void vscode.window
        .showInformationMessage(`No Delegate server answers at ${settings.serverUrl}.`, 'Start Local Server', 'Settings')
        .then((choice) => {
          if (choice === 'Start Local Server') this.startLocalServer();
          else if (choice === 'Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'delegate.');
        });
    }
  }
}
