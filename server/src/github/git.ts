// Runs git for the pull-request flow: in its own process group (killed whole on abort), with the
// token only in the child's environment, and with output scrubbed of secrets before anyone sees it.
// Locale fixed to C so git's messages can be matched. Started through the server's ProcessRunner.
import type { Logger, Scrubber } from '../log';
import type { ProcessRunner } from '../util/processRunner';

export interface GitOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  aborted: boolean;
}

export interface GitOptions {
  gitDir: string;
  /** The server's ProcessRunner (main.ts chooses it). */
  runner: ProcessRunner;
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
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let aborted = false;
    // git's helpers (remote-https, pack-objects) share its process group: the kill ends them all.
    const onAbort = (): void => {
      aborted = true;
      handle.kill(9);
    };
    const handle = opts.runner.run(
      { argv: ['git', '--git-dir', opts.gitDir, ...args], cwd: opts.gitDir, env: { ...opts.hostEnv, LC_ALL: 'C', LANG: 'C', ...opts.env }, stdin: opts.input ?? '' },
      {
        stdout: (d) => {
          size += d.length;
          if (size > MAX_OUTPUT) handle.kill(9);
          else out.push(d);
        },
        stderr: (d) => err.push(d),
        end: ({ code, failure }) => {
          opts.signal?.removeEventListener('abort', onAbort);
          if (failure !== undefined) err.push(Buffer.from(failure));
          const raw = Buffer.concat(err).toString('utf8');
          const stderr = opts.scrubber ? opts.scrubber.scrub(raw) : raw;
          if (opts.log && stderr.trim()) {
            const cmd = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
            opts.log.info(`git ${cmd}`, { stderr: stderr.trim() });
          }
          resolve({ code: aborted ? null : code, stdout: Buffer.concat(out), stderr, aborted });
        },
      },
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** stdout as trimmed text, or null when git failed. */
export async function gitText(args: readonly string[], opts: GitOptions): Promise<string | null> {
  const r = await runGit(args, opts);
  return r.code === 0 ? r.stdout.toString('utf8').trim() : null;
}
