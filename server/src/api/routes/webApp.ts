// GET / (the web interface), GET /web/:name (its script and styles) and, when an OAuth app is
// configured, the GitHub sign-in: /auth/github/login and /auth/github/callback. None needs the
// token (the page asks the API with it); the Host and Origin checks apply as to every route.
import { GitHubOAuth, STATE_COOKIE, cookieValue } from '../oauth';
import { HttpError, type Route } from '../http';
import type { ApiDeps } from './deps';
import { loadWebFiles, securityHeaders, sendPage, type WebFiles } from './webFiles';

const CALLBACK_PATH = '/auth/github/callback';

export function webRoutes(deps: ApiDeps, files: WebFiles = loadWebFiles()): Route[] {
  const oauthConfig = deps.config.githubOAuth;
  const oauth = oauthConfig ? new GitHubOAuth({ ...oauthConfig, webUrl: deps.config.githubWebUrl }) : undefined;
  // The page learns here whether to offer "Sign in with GitHub".
  const baseMeta: Record<string, string> = oauth ? { 'delegate-github-signin': '1' } : {};
  const page = (meta: Record<string, string>): string => {
    const html = files.page({ ...baseMeta, ...meta });
    if (html === undefined) throw new HttpError('not_found', 'the web interface is not built here (npm run build makes server/dist/web)');
    return html;
  };
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/',
      auth: false,
      async handle({ req, res }) {
        sendPage(req, res, 200, page({}));
      },
    },
    {
      method: 'GET',
      path: '/web/:name',
      auth: false,
      async handle({ req, res, params }) {
        const file = files.asset(params.name!);
        if (!file) throw new HttpError('not_found', `no file ${params.name}`);
        res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache', ...securityHeaders(req) });
        res.end(file.body);
      },
    },
  ];
  if (!oauth) return routes;
  const cookie = (value: string, maxAgeS: number) => `${STATE_COOKIE}=${value}; Path=/auth/github; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}`;
  routes.push(
    {
      method: 'GET',
      path: '/auth/github/login',
      auth: false,
      async handle({ req, res }) {
        const { location, state, maxAgeS } = oauth.begin();
        res.writeHead(302, { location, 'set-cookie': cookie(state, maxAgeS), 'cache-control': 'no-store', 'content-length': 0, ...securityHeaders(req) });
        res.end();
      },
    },
    {
      method: 'GET',
      path: CALLBACK_PATH,
      auth: false,
      query: ['code', 'state', 'error', 'error_description', 'error_uri'],
      async handle({ req, res, url, log }) {
        const clear = { 'set-cookie': cookie('', 0) };
        const denied = url.searchParams.get('error');
        if (denied !== null) {
          const why = url.searchParams.get('error_description') ?? denied;
          sendPage(req, res, 200, page({ 'delegate-signin-error': `GitHub did not sign you in: ${why.slice(0, 300)}` }), clear);
          return;
        }
        const result = await oauth.finish(url.searchParams.get('code'), url.searchParams.get('state'), cookieValue(req.headers.cookie, STATE_COOKIE), log);
        // The token is handed to this page only (no-store, no referrer); the page keeps it in
        // sessionStorage and moves its address to / at once.
        const meta: Record<string, string> = result.ok ? { 'delegate-signin-token': result.token } : { 'delegate-signin-error': result.message };
        sendPage(req, res, 200, page(meta), clear);
      },
    },
  );
  return routes;
}
