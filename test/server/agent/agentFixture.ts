// Shared setup for the agent's integration tests: a real git repository, the real workspace
// manager and bwrap sandbox, the real openai SDK, and the scripted model on loopback. The host
// records everything the agent reports.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { EMPTY_USAGE, type ChangedFile, type Selection, type Usage } from '../../../protocol';
import { runAgent, type AgentEvent, type AgentHost, type AgentOutcome, type ConversationItem } from '../../../server/src/agent';
import { DEFAULT_AGENT_LIMITS } from '../../../server/src/agent/types';
import { hostEnvOf } from '../../../server/src/config';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { createSandboxDriver } from '../../../server/src/sandbox';
import { DEFAULT_LIMITS, SANDBOX_UID, type Sandbox, type SandboxDriver } from '../../../server/src/sandbox/types';
import { createWorkspaceManager } from '../../../server/src/workspace';
import type { Workspace } from '../../../server/src/workspace/types';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';

/** Recognisable, so a test can prove it never shows up anywhere. */
export const FAKE_API_KEY = 'sk-test-SECRETKEY-0123456789abcdefXYZ';

/** A small project whose test fails until greet() says hello properly. */
export const PROJECT: Record<string, string> = {
  'README.md': '# greeter\n',
  'lib/greet.sh': 'greet() {\n  echo "Hi $1"\n}\n',
  'test.sh': '#!/bin/sh\n. ./lib/greet.sh\nif [ "$(greet World)" = "Hello, World!" ]; then echo PASS; else echo "FAIL: got $(greet World)"; exit 1; fi\n',
  'AGENTS.md': 'Root rule: run `sh test.sh` before finishing.\n',
  'lib/AGENTS.md': 'Lib rule: keep functions POSIX sh.\n',
};

export class RecordingHost implements AgentHost {
  readonly events: AgentEvent[] = [];
  readonly usages: Usage[] = [];
  readonly diffs: ChangedFile[][] = [];
  readonly steering: string[] = [];
  /** Answers questions; default: never answers (waits until aborted). */
  answer: (question: string) => Promise<string> = () => new Promise<string>(() => {});
  onEvent: (event: AgentEvent) => void = () => {};

  constructor(private readonly workspace: Workspace) {}

  emit(event: AgentEvent): void {
    this.events.push(event);
    this.onEvent(event);
  }
  takeUserMessages(): string[] {
    return this.steering.splice(0);
  }
  ask(question: string, signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(new DOMException('aborted', 'AbortError'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.answer(question).then(resolve, reject);
    });
  }
  onUsage(usage: Usage): void {
    this.usages.push(usage);
  }
  async onFilesChanged(): Promise<void> {
    this.diffs.push(await this.workspace.changedFiles());
  }
  ofType<T extends AgentEvent['type']>(type: T): Array<Extract<AgentEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
  }
}

export interface RunOptions {
  wireApi?: 'responses' | 'chat';
  history?: ConversationItem[];
  selection?: Selection;
  limits?: Partial<typeof DEFAULT_AGENT_LIMITS>;
  signal?: AbortSignal;
  host?: RecordingHost;
  reasoningEffort?: 'minimal' | 'low' | 'medium' | 'high';
  model?: string;
  usageSoFar?: Usage;
}

export interface AgentFixture {
  fake: FakeModel;
  workspace: Workspace;
  sandbox: Sandbox;
  client: OpenAI;
  newHost(): RecordingHost;
  run(prompt: string, options?: RunOptions): Promise<{ outcome: AgentOutcome; host: RecordingHost }>;
  close(): Promise<void>;
}

export async function startAgentFixture(files: Record<string, string> = PROJECT): Promise<AgentFixture> {
  const root = await mkdtemp(join(tmpdir(), 'delegate-agent-'));
  // The sandbox user must be able to reach the workspace under it.
  await chmod(root, 0o711);
  const cleanups: Array<() => Promise<unknown>> = [() => rm(root, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const repoDir = join(root, 'repo');
    makeRepo(repoDir, files);
    const dataDir = join(root, 'data');
    const fake = await startFakeModel();
    cleanups.push(() => fake.close());
    const manager = createWorkspaceManager({ dataDir, sandboxUid: SANDBOX_UID, host: { runner: new SpawnRunner(), env: hostEnvOf(process.env) } });
    const workspace = await manager.prepare({ key: 'task1', repo: { kind: 'local', path: repoDir } });
    cleanups.push(() => workspace.destroy());
    const choice = await createSandboxDriver('bwrap', { dataDir });
    if (!choice.driver) throw new Error(`bwrap sandbox unavailable: ${choice.reason}`);
    const driver: SandboxDriver = choice.driver;
    cleanups.push(async () => driver.close?.());
    const sandbox = await driver.create({ id: `agent-test-${process.pid}-${Date.now()}`, workspaceDir: workspace.dir, gitDir: workspace.gitDir, limits: DEFAULT_LIMITS });
    cleanups.push(() => sandbox.dispose());
    const client = new OpenAI({ apiKey: FAKE_API_KEY, baseURL: fake.baseUrl, logLevel: 'off' });
    const newHost = () => new RecordingHost(workspace);
    const run = async (prompt: string, options: RunOptions = {}) => {
      const host = options.host ?? newHost();
      const outcome = await runAgent(
        {
          client,
          model: options.model ?? 'gpt-5-mini',
          wireApi: options.wireApi ?? 'responses',
          reasoningEffort: options.reasoningEffort,
          prompt,
          selection: options.selection,
          history: options.history ?? [],
          limits: { ...DEFAULT_AGENT_LIMITS, ...options.limits },
          sandbox,
          workspace,
          signal: options.signal ?? new AbortController().signal,
          usageSoFar: options.usageSoFar ?? EMPTY_USAGE,
        },
        host,
      );
      return { outcome, host };
    };
    return { fake, workspace, sandbox, client, newHost, run, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The scripted steps of a complete, successful task: look, fix, test, finish. */
export function fixSteps() {
  return [
    { text: 'Let me look at the project.', toolCalls: [{ name: 'list_files', arguments: {} }] },
    {
      toolCalls: [
        {
          name: 'apply_patch',
          arguments: {
            patch: '*** Begin Patch\n*** Update File: lib/greet.sh\n greet() {\n-  echo "Hi $1"\n+  echo "Hello, $1!"\n }\n*** End Patch',
          },
        },
      ],
    },
    { toolCalls: [{ name: 'shell', arguments: { command: 'sh test.sh' } }] },
    {
      toolCalls: [
        { name: 'finish', arguments: { summary: 'greet() now says "Hello, NAME!".', test_command: 'sh test.sh', tests_passed: true, test_output: 'PASS' } },
      ],
    },
  ];
}
