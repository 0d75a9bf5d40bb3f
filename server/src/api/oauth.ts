// GitHub's OAuth web flow for the web interface's sign-in: the browser is sent to GitHub with a
// one-use `state`, GitHub sends it back with a code, and the server trades the code (with the app's
// secret) for the user's token. The token goes to the page only, which then calls the API with it
// like any GitHub user's token (githubAuth.ts decides who is admitted); the server keeps nothing.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log';

export interface OAuthOptions {
  clientId: string;
  clientSecret: string;
  /** GitHub's web root (https://github.com, or a GitHub Enterprise host). */
  webUrl: string;
  /** How long a sign-in may take between leaving for GitHub and coming back (default 10 minutes). */
  stateTtlMs?: number;
}

export type OAuthResult = { ok: true; token: string } | { ok: false; message: string };

/** The cookie that binds a `state` to the browser that started the sign-in (login CSRF). */
export const STATE_COOKIE = 'delegate_oauth_state';
/**
 * Scopes asked for: `repo` lets the same token open the pull request from the web page, `read:org`
 * lets the server check organisation membership for --github-allow's org: entries.
 */
export const OAUTH_SCOPES = 'repo read:org';
const MAX_USED = 10_000;

/**
 * The state is `nonce.expiry.signature`, signed with a key derived from the app's secret: any node
 * of a fleet (same secret) can check a state another node issued, and unfinished sign-ins cost no
 * memory. Used states are remembered until they lapse, so one is good for one callback here.
 */
export class GitHubOAuth {
  private readonly key: Buffer;
  private readonly used = new Map<string, number>();
  private readonly ttl: number;

  constructor(private readonly options: OAuthOptions) {
    this.ttl = options.stateTtlMs ?? 10 * 60_000;
    this.key = createHmac('sha256', options.clientSecret).update('delegate web sign-in state').digest();
  }

  /** Where to send the browser, and the state its cookie must carry back. */
  begin(now = Date.now()): { location: string; state: string; maxAgeS: number } {
    const payload = `${randomBytes(18).toString('base64url')}.${now + this.ttl}`;
    const state = `${payload}.${this.sign(payload)}`;
    const url = new URL(`${this.options.webUrl}/login/oauth/authorize`);
    url.searchParams.set('client_id', this.options.clientId);
    url.searchParams.set('scope', OAUTH_SCOPES);
    url.searchParams.set('state', state);
    url.searchParams.set('allow_signup', 'false');
    return { location: url.toString(), state, maxAgeS: Math.ceil(this.ttl / 1000) };
  }

  /**
   * The callback: the state must be one this server issued, not used or lapsed, and the one the
   * browser's cookie holds; then the code is traded for the token.
   */
  async finish(code: string | null, state: string | null, cookieState: string | undefined, log: Logger, now = Date.now()): Promise<OAuthResult> {
    if (!state || !cookieState || !sameString(state, cookieState)) {
      return { ok: false, message: 'the sign-in did not start in this browser (state does not match): start it again' };
    }
    const m = /^([A-Za-z0-9_-]+\.(\d{1,15}))\.([A-Za-z0-9_-]+)$/.exec(state);
    if (!m || !sameString(this.sign(m[1]!), m[3]!)) return { ok: false, message: 'the sign-in did not start at this server: start it again' };
    const expires = Number(m[2]);
    for (const [s, until] of this.used) if (until <= now) this.used.delete(s);
    if (expires <= now || this.used.has(state)) return { ok: false, message: 'the sign-in took too long or was already used: start it again' };
    // A flood of callbacks forgets the oldest rather than growing without bound.
    while (this.used.size >= MAX_USED) this.used.delete(this.used.keys().next().value!);
    this.used.set(state, expires);
    if (!code) return { ok: false, message: 'GitHub sent no code back: start the sign-in again' };
    let res: Response;
    try {
      res = await fetch(`${this.options.webUrl}/login/oauth/access_token`, {
        method: 'POST',
        headers: { accept: 'application/json', 'content-type': 'application/json', 'user-agent': 'delegate' },
        body: JSON.stringify({ client_id: this.options.clientId, client_secret: this.options.clientSecret, code }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      log.warn('GitHub OAuth: could not reach the token endpoint', { err: (err as Error).message });
      return { ok: false, message: `could not reach ${this.options.webUrl} to finish the sign-in; try again` };
    }
    let body: { access_token?: unknown; error?: unknown; error_description?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      body = {};
    }
    if (res.ok && typeof body.access_token === 'string' && body.access_token !== '') return { ok: true, token: body.access_token };
    const why = typeof body.error_description === 'string' ? body.error_description : typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    log.warn('GitHub OAuth: the code was not accepted', { status: res.status, error: typeof body.error === 'string' ? body.error : undefined });
    return { ok: false, message: `GitHub did not finish the sign-in: ${why.slice(0, 300)}` };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One cookie's value from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
