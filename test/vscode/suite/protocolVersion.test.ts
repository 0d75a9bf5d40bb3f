// Issue #17: the extension checks the server's protocol version (its stream's hello) and says
// plainly which side to update, instead of failing on frames it cannot read. A server of another
// protocol version cannot be started here, so a stand-in speaks the real hello over a real socket.
import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, until } from './helpers';

/** Answers the event stream with a hello of `protocolVersion`, then stays quiet. */
async function serverOfProtocol(protocolVersion: number): Promise<{ url: string; close(): Promise<void> }> {
  const http: Server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'not here' } }));
  });
  const wss = new WebSocketServer({ server: http, path: '/v1/events' });
  wss.on('connection', (socket) => socket.send(JSON.stringify({ type: 'hello', protocolVersion, serverVersion: `${protocolVersion}.0.0`, lastSeq: 0 })));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      http.close(() => r());
    }),
  };
}

describe('protocol version (#17)', () => {
  let api: DelegateApi;
  const setUrl = (url: string) => vscode.workspace.getConfiguration('delegate').update('serverUrl', url, vscode.ConfigurationTarget.Global);

  before(async () => {
    api = await delegateApi();
  });

  after(async () => {
    await setUrl(env('DELEGATE_TEST_SERVER_URL'));
    await until(() => api.connection().kind === 'connected', 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);
  });

  for (const [name, version, says] of [
    ['newer', PROTOCOL_VERSION + 1, /newer than this extension.*Update the Delegate extension/],
    ['older', PROTOCOL_VERSION - 1, /too old for this extension.*Update the server/],
  ] as const) {
    it(`says clearly when the server is ${name} than the extension, and does not keep retrying`, async () => {
      const stand = await serverOfProtocol(version);
      try {
        await setUrl(stand.url);
        await until(() => api.connection().kind === 'incompatible', 20_000, () => `the mismatch to be noticed (${JSON.stringify(api.connection())})`);
        const state = api.connection();
        assert.ok(state.kind === 'incompatible');
        assert.match(state.reason, says);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(api.connection().kind, 'incompatible', 'it stays put rather than reconnecting in a loop');
      } finally {
        await stand.close();
      }
    });
  }
});
