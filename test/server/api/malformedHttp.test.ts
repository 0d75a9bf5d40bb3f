// HTTP that Node cannot parse still gets the API's JSON error body, and JSON routes take exactly
// application/json (issue #18.12).
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, type ServerProcess } from '../../support/serverProcess';

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection after answering. */
  closed: boolean;
}

/** Writes `request` verbatim and reads until the server closes (or 5 s pass). */
function raw(port: number, request: string | Buffer): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    let data = Buffer.alloc(0);
    let closed = false;
    const done = () => {
      const text = data.toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: rest.join('\r\n\r\n'), closed });
    };
    sock.on('data', (d) => (data = Buffer.concat([data, d])));
    sock.on('end', () => {
      closed = true;
      done();
      sock.destroy();
    });
    sock.on('error', reject);
    setTimeout(() => {
      done();
      sock.destroy();
    }, 5000).unref();
  });
}

describe('malformed HTTP', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  it('answers requests Node cannot parse with a JSON error and closes the connection', async () => {
    const auth = `Authorization: Bearer ${server.token}\r\n`;
    const cases: [string, string | Buffer, number, string][] = [
      ['a bad request line', 'GARBAGE\r\n\r\n', 400, 'bad_request'],
      ['an unknown method', 'FETCH /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
      ['a bad HTTP version', 'GET /v1/tasks HTTP/7.1\r\nHost: 127.0.0.1\r\n\r\n', 400, 'bad_request'],
      ['duplicate Content-Length', `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}`, 400, 'bad_request'],
      ['a negative Content-Length', `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: -1\r\n\r\n`, 400, 'bad_request'],
      ['Content-Length with Transfer-Encoding', `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'bad_request'],
      ['a bad chunk size', `POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`, 400, 'bad_request'],
      ['a header without a colon', 'GET /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n', 400, 'bad_request'],
      ['a NUL in a header', 'GET /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\0b\r\n\r\n', 400, 'bad_request'],
      ['headers over the limit', `GET /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(40 * 1024)}\r\n\r\n`, 431, 'headers_too_large'],
    ];
    for (const [what, request, status, code] of cases) {
      const reply = await raw(server.port, request);
      assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply)}`);
      assert.match(reply.headers['content-type'] ?? '', /^application\/json; charset=utf-8$/, what);
      const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code, what);
      assert.equal(typeof body.error.message, 'string');
      assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body), what);
      assert.ok(reply.closed, `${what}: the connection stays open`);
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  it('takes exactly application/json (optionally ; charset=utf-8) on JSON routes and the bundle types on /v1/bundles', async () => {
    const post = (path: string, type: string, body: string) =>
      fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': type }, body });
    for (const type of ['application/json, text/plain', 'application/json-patch+json', 'application/jsonx', 'text/json', 'application/json; charset=latin1', 'application/json; boundary=x', 'application/json;;', 'text/plain']) {
      const res = await post('/v1/tasks/nope/messages', type, '{"text":"hi"}');
      assert.equal(res.status, 415, type);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
    }
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', 'application/json; charset="utf-8"']) {
      const res = await post('/v1/tasks/nope/messages', type, '{"text":"hi"}');
      assert.equal(res.status, 404, `${type} → ${res.status}`);
    }
    for (const type of ['application/octet-stream, text/plain', 'application/octet-streamx', 'application/x-git-bundle-foo']) {
      const res = await post('/v1/bundles', type, 'x');
      assert.equal(res.status, 415, type);
    }
  });
});
