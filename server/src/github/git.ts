// Runs git for the pull-request flow: in its own process group (killed whole on abort), with the
// token only in the child's environment, and with output scrubbed of secrets before anyone sees it.
// Locale fixed to C so git's messages can be matched.
import { spawn } from 'node:child_process';
import type { Logger, Scrubber } from '../log';

export interface GitOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  aborted: boolean;
}

export interface GitOptions {
  gitDir: string;
  /**
   * What git may see of the server's environment (Config.hostEnv: PATH, HOME, proxy and CA
   * settings), so nothing like GIT_DIR leaks in from it.
   */
  hostEnv: Readonly<Record<string, string>>;
  env?: Record<string, string>;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Removes the token (and its encoded forms) from stderr, before anyone sees it. */
  scrubber?: Scrubber;
  log?: Logger;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/** The strings that reveal a token: itself and its Basic-auth encodings. */
export function tokenForms(token: string): string[] {
  return [token, Buffer.from(`x-access-token:${token}`).toString('base64'), encodeURIComponent(token)];
}

/**
 * Environment for git talking to a remote: the auth header scoped to the git server's origin,
 * no prompts, no credential helpers (nothing may store the token), no askpass.
 */
export function remoteEnv(origin: string, token: string): Record<string, string> {
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GCM_INTERACTIVE: 'never',
    GIT_CONFIG_COUNT: '2',
    // Scoped to the origin so a redirect elsewhere never receives the header.
    GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    // An empty value resets the helper list: no helper sees (or stores) anything.
    GIT_CONFIG_KEY_1: 'credential.helper',
    GIT_CONFIG_VALUE_1: '',
  };
}

export function runGit(args: readonly string[], opts: GitOptions): Promise<GitOutput> {
  return new Promise((resolve) => {
    if (opts.signal?.aborted) {
      resolve({ code: null, stdout: Buffer.alloc(0), stderr: 'aborted', aborted: true });
      return;
    }
    const child = spawn('git', ['--git-dir', opts.gitDir, ...args], {
      env: { ...opts.hostEnv, LC_ALL: 'C', LANG: 'C', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let aborted = false;
    // git's helpers (remote-https, pack-objects) share the group, so an abort ends them all.
    const killGroup = (): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT) killGroup();
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    child.on('error', (e) => err.push(Buffer.from(String(e.message))));
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      const raw = Buffer.concat(err).toString('utf8');
      const stderr = opts.scrubber ? opts.scrubber.scrub(raw) : raw;
      if (opts.log && stderr.trim()) {
        const cmd = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
        opts.log.info(`git ${cmd}`, { stderr: stderr.trim() });
      }
      resolve({ code: aborted ? null : code, stdout: Buffer.concat(out), stderr, aborted });
    });
  });
}

/** stdout as trimmed text, or null when git failed. */
export async function gitText(args: readonly string[], opts: GitOptions): Promise<string | null> {
  const r = await runGit(args, opts);
  return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
}
