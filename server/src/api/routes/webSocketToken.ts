// The web page's credential on the event stream. Browsers cannot set headers on a WebSocket, and a
// token in the URL's query lands in proxies' access logs; so the page offers two subprotocols,
// `delegate` then `delegate.token.<base64url of the token>`. The server takes the token from the
// second and answers with the first (ws picks the first offered), so the token never comes back.
import type { IncomingMessage } from 'node:http';

export const TOKEN_PROTOCOL_PREFIX = 'delegate.token.';

/** The token a browser offered as a subprotocol, if any. */
export function protocolToken(req: IncomingMessage): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carrier = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  if (carrier === undefined) return undefined;
  const encoded = carrier.slice(TOKEN_PROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}
