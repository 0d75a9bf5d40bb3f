// Shared by the extension's API-level suites: the extension's test API, the harness endpoints,
// and polling that fails with a message saying what never happened. (Bundled into each test file.)
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';

export async function delegateApi(): Promise<DelegateApi> {
  const ext = vscode.extensions.getExtension<DelegateApi>('delegate-dev.delegate');
  if (!ext) throw new Error('the extension delegate-dev.delegate is not installed');
  const api = await ext.activate();
  await until(() => api.connection().kind === 'connected', 30_000, () => `connected (now ${JSON.stringify(api.connection())})`);
  return api;
}

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set by the harness`);
  return value;
}

/** Scripts the fake model: a task whose prompt contains [[script:NAME]] plays these steps. */
export async function setScript(name: string, steps: unknown[]): Promise<void> {
  const res = await fetch(`${env('DELEGATE_TEST_MODEL_CONTROL_URL')}/scripts/${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(steps),
  });
  if (!res.ok) throw new Error(`scripting the fake model failed: HTTP ${res.status} ${await res.text()}`);
}

/** The server's own view, straight from its API (not through the extension). */
export async function serverTasks(): Promise<Task[]> {
  const res = await fetch(`${env('DELEGATE_TEST_SERVER_URL').replace(/\/$/, '')}/v1/tasks`, {
    headers: { authorization: `Bearer ${env('DELEGATE_TOKEN')}` },
  });
  if (!res.ok) throw new Error(`GET /v1/tasks: HTTP ${res.status}`);
  return ((await res.json()) as { tasks: Task[] }).tasks;
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const FINISHED = ['completed', 'failed', 'cancelled', 'interrupted'];

export function patch(path: string, from: string, to: string): string {
  return `*** Begin Patch\n*** Update File: ${path}\n@@\n-${from}\n+${to}\n*** End Patch`;
}

/** A model request as the fake model recorded it (only what the suites read). */
export interface ModelRequest {
  script: string;
  turn: number;
  body: Record<string, unknown>;
  at: number;
}

/** The requests the fake model received for one script, oldest first. */
export async function modelRequests(script: string): Promise<ModelRequest[]> {
  const res = await fetch(`${env('DELEGATE_TEST_MODEL_CONTROL_URL')}/requests`);
  if (!res.ok) throw new Error(`GET /requests from the fake model: HTTP ${res.status}`);
  return ((await res.json()) as ModelRequest[]).filter((r) => r.script === script);
}

/** A branch on the fake GitHub, through the runner (null when it does not exist). */
export async function githubBranch(owner: string, repo: string, branch: string): Promise<{ commit: string; parents: string[]; message: string; files: Record<string, string> } | null> {
  const query = new URLSearchParams({ owner, repo, branch }).toString();
  const res = await fetch(`${env('DELEGATE_TEST_CONTROL_URL')}/github/branch?${query}`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`GET /github/branch: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { commit: string; parents: string[]; message: string; files: Record<string, string> };
}

/** The pull requests the fake GitHub opened so far. */
export async function githubPulls(): Promise<{ number: number; title: string; body: string | null; head: string; base: string; owner: string; repo: string }[]> {
  const res = await fetch(`${env('DELEGATE_TEST_CONTROL_URL')}/github/pulls`);
  if (!res.ok) throw new Error(`GET /github/pulls: HTTP ${res.status}`);
  return (await res.json()) as { number: number; title: string; body: string | null; head: string; base: string; owner: string; repo: string }[];
}
