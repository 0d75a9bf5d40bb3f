// "Delegate: Start Local Server": runs the configured command (default `npx delegate-server`) in
// its own process group, streams its output to the log, and kills the whole group on dispose.
import { spawn, type ChildProcess } from 'node:child_process';
import type * as vscode from 'vscode';
import { LineSplitter, parseServerLine } from './serverLog';

export class LocalServer implements vscode.Disposable {
  private child: ChildProcess | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(command: string, cwd: string, port: string | undefined): boolean {
    if (this.running) return false;
    const full = port && !/--port\b/.test(command) ? `${command} --port ${port}` : command;
    this.log.info(`starting the local server: ${full} (in ${cwd})`);
    // A shell so the setting can be any command line; detached = its own process group to kill.
    const child = spawn(full, { cwd, shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const forward = (stream: 'stdout' | 'stderr') => {
      const lines = new LineSplitter();
      const write = (line: string): void => {
        const { level, text } = parseServerLine(line, stream);
        this.log[level](`[server] ${text}`);
      };
      child[stream]?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')).forEach(write));
      child[stream]?.on('end', () => lines.flush().forEach(write));
    };
    forward('stdout');
    forward('stderr');
    child.on('error', (e) => this.log.error(`the local server failed to start: ${e.message}`));
    child.on('exit', (code, signal) => {
      this.log.info(`the local server exited (${signal ?? code})`);
      if (this.child === child) this.child = undefined;
    });
    return true;
  }

  /** Stops the server this window started; false when none runs. */
  stop(): boolean {
    if (!this.running) return false;
    this.dispose();
    return true;
  }

  dispose(): void {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const pid = child.pid;
    // Escalate if the group ignores SIGTERM; unref so the timer never holds the host open.
    setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, 3000).unref();
  }
}
