// Who is calling: the server token is the admin; with --github-allow, a GitHub token is a user,
// identified by GitHub (GET /user) and admitted by login or organisation membership. Verdicts are
// kept in memory for a short while, keyed by the token's hash: the token itself is never kept,
// written or logged.
import { createHash } from 'node:crypto';
import { Octokit } from '@octokit/rest';
import type { ErrorCode } from '../../../protocol';
import type { Logger } from '../log';
import { tokenMatches } from './http';

export type Principal = { kind: 'admin' } | { kind: 'user'; login: string };

export type AuthResult = { ok: true; principal: Principal } | { ok: false; code: ErrorCode; message: string };

export interface AuthOptions {
  adminToken: string;
  /** Lowercase logins and `org:NAME` entries; empty: only the admin token is accepted. */
  allow: readonly string[];
  githubApiUrl: string;
  /** How long a verdict is kept (≤ 5 minutes). */
  cacheMs: number;
  log: Logger;
}

const MAX_CACHED = 10_000;

export class Authenticator {
  private readonly cache = new Map<string, { result: AuthResult; expires: number }>();
  /** Checks under way: a client's burst of requests with a new token asks GitHub once. */
  private readonly pending = new Map<string, Promise<AuthResult>>();
  private readonly logins: Set<string>;
  private readonly orgs: string[];

  constructor(private readonly options: AuthOptions) {
    this.logins = new Set(options.allow.filter((a) => !a.startsWith('org:')));
    this.orgs = options.allow.filter((a) => a.startsWith('org:')).map((a) => a.slice(4));
  }

  /** Whether GitHub tokens are accepted at all (what /healthz tells clients). */
  get github(): boolean {
    return this.options.allow.length > 0;
  }

  async authenticate(token: string | undefined | null): Promise<AuthResult> {
    if (!token) return { ok: false, code: 'unauthorized', message: 'missing or wrong bearer token' };
    if (tokenMatches(this.options.adminToken, token)) return { ok: true, principal: { kind: 'admin' } };
    if (!this.github) return { ok: false, code: 'unauthorized', message: 'missing or wrong bearer token' };
    const key = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) return hit.result;
    let check = this.pending.get(key);
    if (!check) {
      check = this.verify(token).then((result) => {
        // A failure to reach GitHub is not a verdict: the next request asks again.
        if (result.ok || result.code === 'unauthorized' || result.code === 'forbidden') this.remember(key, result, Date.now());
        return result;
      });
      this.pending.set(key, check);
      check.finally(() => this.pending.delete(key)).catch(() => undefined);
    }
    return check;
  }

  private remember(key: string, result: AuthResult, now: number): void {
    if (this.cache.size >= MAX_CACHED) {
      for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.delete(key);
    this.cache.set(key, { result, expires: now + this.options.cacheMs });
  }

  private async verify(token: string): Promise<AuthResult> {
    const gh = new Octokit({
      auth: token,
      baseUrl: this.options.githubApiUrl,
      userAgent: 'delegate',
      request: { signal: AbortSignal.timeout(10_000) },
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    let login: string;
    try {
      login = (await gh.rest.users.getAuthenticated()).data.login;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401) return { ok: false, code: 'unauthorized', message: 'GitHub does not accept this token (401): sign in to GitHub again, or use the server token' };
      this.options.log.warn('could not check a GitHub token', { status, err: (err as Error).message });
      return { ok: false, code: 'github_error', message: `could not check the GitHub token with ${this.options.githubApiUrl} (${status ?? (err as Error).message}); try again` };
    }
    if (this.logins.has(login.toLowerCase())) return { ok: true, principal: { kind: 'user', login } };
    for (const org of this.orgs) {
      try {
        const m = await gh.rest.orgs.getMembershipForAuthenticatedUser({ org });
        if (m.data.state === 'active') return { ok: true, principal: { kind: 'user', login } };
      } catch (err) {
        const status = (err as { status?: number }).status;
        // 404: not a member; 403: the token may not read memberships (no read:org) or the org blocks it.
        if (status !== 404 && status !== 403) {
          this.options.log.warn('could not check an organisation membership', { org, status, err: (err as Error).message });
          return { ok: false, code: 'github_error', message: `could not check membership of ${org} with ${this.options.githubApiUrl} (${status ?? (err as Error).message}); try again` };
        }
      }
    }
    return { ok: false, code: 'forbidden', message: `GitHub user ${login} may not use this server. ${this.whoIsAllowed()} Ask its administrator to add you to --github-allow.` };
  }

  private whoIsAllowed(): string {
    const parts = [
      ...(this.logins.size ? [`the GitHub users ${[...this.logins].join(', ')}`] : []),
      ...(this.orgs.length ? [`members of the GitHub organisation${this.orgs.length > 1 ? 's' : ''} ${this.orgs.join(', ')} (the token needs the read:org scope)`] : []),
    ];
    return `Allowed: ${parts.join(' and ')}.`;
  }
}

/** The task owner a principal sees: null for the admin (all tasks). */
export function loginOf(principal: Principal): string | null {
  return principal.kind === 'user' ? principal.login : null;
}
