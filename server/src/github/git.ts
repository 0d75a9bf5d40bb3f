// Runs git for the pull-request flow: in its own process group (killed whole on abort), with the
// token only in the child's environment, and with output scrubbed of secrets before anyone sees it.
import { spawn } from 'node:child_process';

export interface GitOutput {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  aborted: boolean;
}

export interface GitOptions {
  gitDir: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Secret strings to remove from stderr (and from anything logged). */
  secrets?: readonly string[];
  onLog?: (line: string) => void;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

/** Replaces every secret (and the Basic-auth form git would send) with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length < 4) continue;
    out = out.split(s).join('***');
  }
  // Defensive: any Authorization header that slipped through, whatever it carries.
  return out.replace(/(authorization:\s*(?:basic|bearer|token)\s+)\S+/gi, '$1***');
}

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

/**
 * A minimal environment: no GIT_DIR & co. leaking in from the server's own environment; proxy and
 * CA settings pass through (GitHub Enterprise behind a corporate CA); locale fixed so messages parse.
 */
const PASSED_ENV = [
  'PATH', 'HOME', 'TMPDIR', 'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY',
  'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR',
] as const;

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { LC_ALL: 'C', LANG: 'C' };
  for (const k of PASSED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

export function runGit(args: readonly string[], opts: GitOptions): Promise<GitOutput> {
  return new Promise((resolve) => {
    const secrets = opts.secrets ?? [];
    if (opts.signal?.aborted) {
      resolve({ code: null, stdout: Buffer.alloc(0), stderr: 'aborted', aborted: true });
      return;
    }
    const child = spawn('git', ['--git-dir', opts.gitDir, ...args], {
      env: { ...baseEnv(), ...opts.env },
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
      const stderr = scrubSecrets(Buffer.concat(err).toString('utf8'), secrets);
      if (opts.onLog) {
        const cmd = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
        for (const line of stderr.split('\n')) if (line.trim()) opts.onLog(`git ${cmd}: ${line.trim()}`);
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
