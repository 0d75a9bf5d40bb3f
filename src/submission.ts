// Turning "this selection, this prompt" into a task on the server: the repository's identity (or a
// bundle of it for a server elsewhere), the selection relative to the repository root, the options.
import { dirname, relative, sep } from 'node:path';
import * as vscode from 'vscode';
import type { CreateTaskRequest, RepoSpec, Selection, Task, TaskOptions } from '../protocol';
import { readSettings } from './config';
import { bundleRepository, describeRepository, type RepositoryInfo } from './git/repository';
import type { TaskModel } from './model/taskModel';
import type { ApiClient } from './server/apiClient';
import { fail, ok, type Result } from './util/result';
import { Signal } from './util/signal';

export interface Captured {
  repo: RepositoryInfo;
  selection: Selection | undefined;
}

export class Submitter {
  private readonly created = new Signal<Task>();
  /** A task this window delegated was created (from the command, the panel or a retry). */
  readonly onDidCreate = this.created.event;

  constructor(
    private readonly api: ApiClient,
    private readonly model: TaskModel,
    private readonly log: vscode.LogOutputChannel,
    /** Whether the server reads repositories on this disk (a loopback server, as its admin). */
    private readonly readsLocalPaths: () => Promise<boolean>,
  ) {}

  /** The repository of the active editor (or the first folder) and the editor's selection. */
  async capture(editor: vscode.TextEditor | undefined, signal?: AbortSignal): Promise<Result<Captured>> {
    const doc = editor?.document;
    const dir = doc?.uri.scheme === 'file' ? dirname(doc.uri.fsPath) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!dir) return fail('no_folder', 'Open a folder inside a git repository to delegate a task.');
    const repo = await describeRepository(dir, signal);
    if (!repo.ok) return repo;
    let selection: Selection | undefined;
    if (editor && doc?.uri.scheme === 'file' && !editor.selection.isEmpty) {
      const path = relative(repo.value.root, doc.uri.fsPath).split(sep).join('/');
      const sel = editor.selection;
      // A selection ending at column 0 does not include that line.
      const endLine = sel.end.character === 0 && sel.end.line > sel.start.line ? sel.end.line : sel.end.line + 1;
      if (!path.startsWith('..')) {
        selection = { path, startLine: sel.start.line + 1, endLine, text: doc.getText(sel) };
      }
    }
    return ok({ repo: repo.value, selection });
  }

  /** The repository at `dir`, without a selection (a retry brings the task's own). */
  async captureRepository(dir: string, signal?: AbortSignal): Promise<Result<RepositoryInfo>> {
    return describeRepository(dir, signal);
  }

  async submit(
    captured: Captured,
    prompt: string,
    options: TaskOptions | undefined,
    signal?: AbortSignal,
  ): Promise<Result<Task>> {
    const repo = await this.repoSpec(captured.repo, signal);
    if (!repo.ok) return repo;
    const settings = readSettings();
    const merged: TaskOptions = { ...(settings.defaultModel ? { model: settings.defaultModel } : {}), ...options };
    const body: CreateTaskRequest = { prompt, repo: repo.value, options: merged };
    if (captured.selection) body.selection = captured.selection;
    const created = await this.api.createTask(body, signal);
    if (!created.ok) return created;
    this.log.info(`task ${created.value.id} created (${created.value.status})`);
    // Show it at once; the event stream brings the rest.
    this.model.upsert(created.value);
    this.created.fire(created.value);
    return created;
  }

  private async repoSpec(info: RepositoryInfo, signal?: AbortSignal): Promise<Result<RepoSpec>> {
    // A user signed in with GitHub sends a bundle even to this machine's server: it reads local
    // paths as its own user, so it takes them only from its administrator.
    if (await this.readsLocalPaths()) {
      return ok({
        kind: 'local',
        path: info.root,
        commit: info.commit,
        includeUncommitted: true,
        ...(info.branch ? { branch: info.branch } : {}),
        ...(info.remoteUrl ? { remoteUrl: info.remoteUrl } : {}),
      });
    }
    // The server cannot read this disk: send the history and the uncommitted changes.
    const parts = await bundleRepository(info, signal);
    if (!parts.ok) return parts;
    const uploaded = await this.api.uploadBundle(parts.value.bundle, signal);
    if (!uploaded.ok) return uploaded;
    return ok({
      kind: 'bundle',
      bundleId: uploaded.value.bundleId,
      commit: info.commit,
      patch: parts.value.patch,
      name: parts.value.name,
      ...(info.branch ? { branch: info.branch } : {}),
      ...(info.remoteUrl ? { remoteUrl: info.remoteUrl } : {}),
    });
  }
}
