// The HTTP edge: routing, bearer-token auth, bounded body reading, typed errors. Handlers live one
// per file in ./routes and are dispatched through the route table, never a switch.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../../../protocol';
import type { Logger } from '../log';
import type { Authenticator, Principal } from './githubAuth';
import type { HostPolicy } from './hostPolicy';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  log: Logger;
  /** Who is calling; null on routes without auth. */
  principal: Principal | null;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  /** Path with `:name` parameters, e.g. /v1/tasks/:id/diff */
  path: string;
  /** Default true: requires the bearer token. */
  auth?: boolean;
  /** Query parameters the route reads; any other is refused like an unknown body field. */
  query?: readonly string[];
  /** The route reads the body itself; without this, a body other than empty or `{}` is refused. */
  body?: true;
  handle(ctx: RequestContext): Promise<void>;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((r) => {
    const keys: string[] = [];
    const pattern = r.path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    return { ...r, regex: new RegExp(`^${pattern}$`), keys };
  });
}

/** Compares hashes so neither timing nor length leaks the token. */
export function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), 'cache-control': 'no-store', ...headers });
  res.end(data);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}

/** Reads the body up to `limit` bytes; past it answers 413 without buffering the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new HttpError('payload_too_large', `request body is ${declared} bytes; the limit here is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.resume();
        reject(new HttpError('payload_too_large', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(new HttpError('bad_request', `could not read the request body: ${err.message}`));
      }
    });
  });
}

/**
 * Whether the Content-Type is exactly one of `types`, optionally with `; charset=utf-8`: a list
 * (`application/json, text/plain`) or a relative (`application/json-patch+json`) is not.
 */
export function contentTypeIs(req: IncomingMessage, types: readonly string[]): boolean {
  const m = /^([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)\s*(?:;\s*charset\s*=\s*("?)utf-8\2\s*)?$/i.exec(req.headers['content-type'] ?? '');
  return m !== null && types.includes(m[1]!.toLowerCase());
}

export async function readJson<S extends z.ZodType>(ctx: RequestContext, schema: S, limit = 64 * 1024): Promise<z.infer<S>> {
  if (!contentTypeIs(ctx.req, ['application/json'])) {
    throw new HttpError('unsupported_media_type', `expected content-type application/json, got ${ctx.req.headers['content-type'] || 'none'}`);
  }
  const body = await readBody(ctx.req, limit);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError('invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HttpError('validation_failed', formatZodError(parsed.error));
  return parsed.data;
}

/** What the error a request got as HTTP means for the client, by Node's parser error code. */
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request took too long to arrive'],
  ERR_HTTP_HEADERS_TIMEOUT: ['request_timeout', 'the request headers took too long to arrive'],
};

/**
 * The HTTP server's 'clientError': a request Node cannot parse (bad request line, duplicate
 * Content-Length, …) still gets a JSON error body like every other error, then the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const response = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy();
    return;
  }
  const [code, message] = CLIENT_ERRORS[err.code ?? ''] ?? (['bad_request', `malformed HTTP request (${err.code ?? err.message})`] as const);
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** For routes without a body: nothing, or an empty JSON object (what clients send to a POST). */
async function refuseBody(req: IncomingMessage): Promise<void> {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return;
  const text = (await readBody(req, 1024)).toString('utf8').trim();
  if (text === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError('validation_failed', 'body: this route takes no body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('validation_failed', 'body: this route takes no body');
  const [field] = Object.keys(value);
  if (field !== undefined) throw new HttpError('validation_failed', `${field}: unknown field`);
}

export function formatZodError(error: z.ZodError): string {
  const where = (path: PropertyKey[]) => (path.length ? path.map(String).join('.') : 'body');
  return error.issues
    .flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys.map((k) => `${where([...i.path, k])}: unknown field`) : [`${where(i.path)}: ${i.message}`]))
    .slice(0, 5)
    .join('; ');
}

/** Routes under /v1/tasks/:id act on one task: a user reaches only their own. */
const TASK_ROUTE = /^\/v1\/tasks\/:id(\/|$)/;

export function createRequestHandler(options: {
  routes: Route[];
  auth: Authenticator;
  /** A live task's owner (null: the admin's), or undefined when there is no such task. */
  ownerOf: (taskId: string) => Promise<string | null | undefined>;
  /** Host and Origin: refused before anything else, so a rebound DNS name or a foreign page learns nothing. */
  hosts: HostPolicy;
  log: Logger;
  isShuttingDown: () => boolean;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const compiled = compileRoutes(options.routes);
  return (req, res) => {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new HttpError('bad_request', 'malformed request URL'));
      return;
    }
    const run = async () => {
      const verdict = options.hosts.check(req);
      if (!verdict.ok) throw new HttpError('forbidden', verdict.message);
      if (options.isShuttingDown()) throw new HttpError('shutting_down', 'the server is shutting down');
      const byPath = compiled.filter((r) => r.regex.test(url.pathname));
      if (byPath.length === 0) throw new HttpError('not_found', `no route for ${url.pathname}`);
      const route = byPath.find((r) => r.method === req.method);
      // Authenticate before revealing which methods exist.
      let principal: Principal | null = null;
      if ((route?.auth ?? byPath[0]!.auth) !== false) {
        const verdict = await options.auth.authenticate(bearer(req));
        if (!verdict.ok) throw new HttpError(verdict.code, verdict.message, verdict.code === 'unauthorized' ? { 'www-authenticate': 'Bearer' } : {});
        principal = verdict.principal;
      }
      if (!route) throw new HttpError('method_not_allowed', `${req.method} is not allowed on ${url.pathname}`, { allow: byPath.map((r) => r.method).join(', ') });
      const m = route.regex.exec(url.pathname)!;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(m[i + 1]!);
        } catch {
          throw new HttpError('bad_request', `malformed percent-encoding in ${url.pathname}`);
        }
      });
      // Another user's task is answered exactly as a task that does not exist.
      if (principal?.kind === 'user' && params.id !== undefined && TASK_ROUTE.test(route.path) && (await options.ownerOf(params.id)) !== principal.login) {
        throw new HttpError('not_found', `no task ${params.id}`);
      }
      for (const name of new Set(url.searchParams.keys())) {
        if (!route.query?.includes(name)) throw new HttpError('validation_failed', `${name}: unknown query parameter`);
      }
      if (!route.body) await refuseBody(req);
      await route.handle({ req, res, url, params, log: options.log, principal });
    };
    run()
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          sendError(res, err);
        } else {
          options.log.error('request failed', { method: req.method, path: url.pathname, err: err as Error });
          sendError(res, new HttpError('internal', 'internal server error'));
        }
      })
      .finally(() => {
        options.log.debug('request', { method: req.method, path: url.pathname, status: res.statusCode, ms: Math.round(performance.now() - started) });
      });
  };
}
