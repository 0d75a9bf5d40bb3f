// The OAuth web flow of the fake GitHub (githubDouble.ts mounts it): GET /login/oauth/authorize
// (a browser already signed in to GitHub as `signedInAs`, who approves at once) and POST
// /login/oauth/access_token, as GitHub documents them: the code is one-use, short-lived and bound
// to the app; the exchange needs the app's secret; errors come as 200 {error, error_description}.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeOAuthApp {
  clientId: string;
  clientSecret: string;
  /** The app's registered callback URL (GitHub sends the browser there). */
  callbackUrl: string;
  /** The GitHub token the signed-in browser user gets (a user known to the double's API). */
  signedInAs: string;
}

export interface FakeOAuth {
  addApp(app: FakeOAuthApp): void;
  /** Whether this request was the OAuth flow's (and has been answered). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** The authorize requests seen (their query), newest last. */
  readonly authorizations: Record<string, string>[];
}

export function createFakeOAuth(log: (line: string) => void): FakeOAuth {
  const apps = new Map<string, FakeOAuthApp>();
  const codes = new Map<string, { clientId: string; token: string; expires: number }>();
  const authorizations: Record<string, string>[] = [];
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  return {
    authorizations,
    addApp: (app) => void apps.set(app.clientId, app),
    handle(req, res, url) {
      if (url.pathname === '/login/oauth/authorize' && req.method === 'GET') {
        const query = Object.fromEntries(url.searchParams);
        authorizations.push(query);
        const app = apps.get(query.client_id ?? '');
        log(`oauth GET /login/oauth/authorize ${app ? 302 : 404}`);
        if (!app) {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('Not Found');
          return true;
        }
        const code = randomBytes(10).toString('hex');
        codes.set(code, { clientId: app.clientId, token: app.signedInAs, expires: Date.now() + 10 * 60_000 });
        const back = new URL(app.callbackUrl);
        back.searchParams.set('code', code);
        if (query.state !== undefined) back.searchParams.set('state', query.state);
        res.writeHead(302, { location: back.toString() });
        res.end();
        return true;
      }
      if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let body: Record<string, unknown>;
          try {
            body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
          } catch {
            body = {};
          }
          const app = apps.get(String(body.client_id));
          const grant = codes.get(String(body.code));
          codes.delete(String(body.code));
          if (!app || body.client_secret !== app.clientSecret) {
            log('oauth POST /login/oauth/access_token incorrect_client_credentials');
            return json(res, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
          }
          if (!grant || grant.clientId !== app.clientId || grant.expires < Date.now()) {
            log('oauth POST /login/oauth/access_token bad_verification_code');
            return json(res, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
          }
          log('oauth POST /login/oauth/access_token 200');
          json(res, { access_token: grant.token, token_type: 'bearer', scope: 'repo,read:org' });
        });
        return true;
      }
      return false;
    },
  };
}
