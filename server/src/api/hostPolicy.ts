// Which Host and Origin headers the server answers. A browser page must get nothing from the API
// even when it knows the token: a page that rebinds its own DNS name to 127.0.0.1 still sends its
// name as Host, and a page of another origin sends that origin as Origin. Non-browser clients (the
// extension, curl) send no Origin; the web interface is served from the API's own origin.
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];

export type HostCheck = { ok: true } | { ok: false; message: string };

export interface HostPolicy {
  check(req: IncomingMessage): HostCheck;
  /** The names Host may carry (lowercase, IPv6 without brackets). */
  readonly names: ReadonlySet<string>;
}

/** Lowercase, without IPv6 brackets or a trailing dot. */
function normalName(name: string): string {
  return name.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** A loopback name or address (127.0.0.0/8, ::1, localhost), as the Host check and the start-up warning both mean it. */
export function isLoopback(host: string): boolean {
  const name = normalName(host);
  return name === 'localhost' || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

function isWildcard(host: string): boolean {
  return ['', '0.0.0.0', '::', '0:0:0:0:0:0:0:0'].includes(normalName(host));
}

/** hostname and port of a Host header value or an origin's authority; null when it is no such thing. */
function authority(value: string, scheme: 'http:' | 'https:'): { name: string; port: string } | null {
  if (/[\s/\\?#@]/.test(value) || value === '') return null;
  try {
    const url = new URL(`${scheme}//${value}`);
    return { name: normalName(url.hostname), port: url.port || (scheme === 'https:' ? '443' : '80') };
  } catch {
    return null;
  }
}

/**
 * The names the server answers to: loopback's when it listens on loopback (or everywhere), the
 * address it is bound to, this machine's names and addresses when bound to all of them, and
 * --allowed-hosts.
 */
export function hostPolicy(bindHost: string, allowedHosts: readonly string[]): HostPolicy {
  const names = new Set(allowedHosts.map(normalName));
  if (isLoopback(bindHost) || isWildcard(bindHost)) for (const n of LOOPBACK_NAMES) names.add(n);
  if (isWildcard(bindHost)) {
    names.add(normalName(hostname()));
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(normalName(a.address));
  } else {
    names.add(normalName(bindHost));
  }
  return {
    names,
    check(req) {
      const hostHeader = req.headers.host;
      if (hostHeader === undefined) return { ok: false, message: 'the request has no Host header' };
      const host = authority(hostHeader, 'http:');
      if (!host || !names.has(host.name)) {
        return { ok: false, message: `Host ${JSON.stringify(hostHeader.slice(0, 200))} is not a name this server answers to; a server reached by another name lists it with --allowed-hosts` };
      }
      const origin = req.headers.origin;
      if (origin === undefined) return { ok: true };
      // Same origin only: the page's scheme-default port or its explicit one must be the Host's.
      const m = /^(https?:)\/\/([^/]*)$/i.exec(origin);
      const scheme = m?.[1]?.toLowerCase() as 'http:' | 'https:' | undefined;
      const from = m && scheme ? authority(m[2]!, scheme) : null;
      const to = scheme ? authority(hostHeader, scheme) : null;
      if (!from || !to || from.name !== to.name || from.port !== to.port) {
        return { ok: false, message: `requests from the web page at ${JSON.stringify(origin.slice(0, 200))} are refused: only this server's own origin may call it` };
      }
      return { ok: true };
    },
  };
}
