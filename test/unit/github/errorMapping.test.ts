// Octokit's RequestError and git's stderr as they really look, mapped to our codes without the token.
import assert from 'node:assert/strict';
import { mapApiError } from '../../../server/src/github/api';
import { remoteEnv, tokenForms } from '../../../server/src/github/git';
import { Scrubber } from '../../../server/src/log';
import { classifyRemoteError } from '../../../server/src/github/transport';

const API = 'https://api.github.com';
const httpError = (status: number, headers: Record<string, string>, message = 'x') =>
  Object.assign(new Error(message), { status, response: { headers, data: { message } } });

describe('github: error mapping and scrubbing', () => {
  it('maps API statuses and headers to codes', () => {
    assert.equal(mapApiError(httpError(401, {}, 'Bad credentials'), 'w', API, false).code, 'github_unauthorized');
    const forbidden = mapApiError(httpError(403, { 'x-accepted-oauth-scopes': 'repo', 'x-oauth-scopes': 'gist' }), 'w', API, false);
    assert.equal(forbidden.code, 'github_forbidden');
    assert.match(forbidden.message, /`repo` scope.*accepts the scope\(s\): repo; the token has: gist/);
    const limited = mapApiError(httpError(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1700000000' }), 'w', API, false);
    assert.equal(limited.code, 'rate_limited');
    assert.match(limited.message, /2023-11-14T22:13:20\.000Z/);
    assert.match(mapApiError(httpError(429, { 'retry-after': '30' }), 'w', API, false).message, /retry after 30 s/);
    assert.equal(mapApiError(httpError(422, {}, 'Validation Failed'), 'w', API, false).code, 'github_error');
    const net = mapApiError(Object.assign(new Error('fetch failed'), { status: 500, cause: { code: 'ECONNREFUSED' } }), 'w', API, false);
    assert.match(net.message, /could not reach https:\/\/api\.github\.com \(ECONNREFUSED\)/);
  });

  it('maps git stderr to codes', () => {
    assert.equal(classifyRemoteError("fatal: could not read Username for 'https://github.com': terminal prompts disabled", 'p', 'h').code, 'github_unauthorized');
    assert.equal(classifyRemoteError('remote: Permission to o/r.git denied to u.\nfatal: unable to access: The requested URL returned error: 403', 'p', 'h').code, 'github_forbidden');
    assert.match(classifyRemoteError('fatal: unable to access: Failed to connect to h port 443', 'p', 'h').message, /could not reach h/);
  });

  it('scrubs the token, its Basic form and any Authorization header', () => {
    const token = 'ghp_0123456789abcdef';
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const text = `a ${token} b Authorization: Basic ${basic} c authorization: bearer other`;
    const out = new Scrubber(tokenForms(token)).scrub(text);
    assert.ok(!out.includes(token) && !out.includes(basic) && !out.includes('other'), out);
  });

  it('puts the token only in an origin-scoped extraHeader and disables helpers and prompts', () => {
    const env = remoteEnv('https://github.com', 'tok_123');
    assert.equal(env.GIT_CONFIG_KEY_0, 'http.https://github.com/.extraHeader');
    assert.equal(env.GIT_CONFIG_VALUE_0, `Authorization: Basic ${Buffer.from('x-access-token:tok_123').toString('base64')}`);
    assert.equal(env.GIT_CONFIG_KEY_1, 'credential.helper');
    assert.equal(env.GIT_CONFIG_VALUE_1, '');
    assert.equal(env.GIT_TERMINAL_PROMPT, '0');
  });
});
