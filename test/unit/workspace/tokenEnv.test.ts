// A fetch token reaches git only as an extra header in the environment (never argv or config).
import assert from 'node:assert/strict';
import { tokenEnv } from '../../../server/src/workspace/sources';

describe('workspace fetch token', () => {
  it('passes a fetch token as an extra header in the environment only', () => {
    assert.deepEqual(tokenEnv(undefined), {});
    const env = tokenEnv('secret');
    assert.equal(env.GIT_CONFIG_KEY_0, 'http.extraHeader');
    assert.equal(env.GIT_CONFIG_VALUE_0, `Authorization: Basic ${Buffer.from('x-access-token:secret').toString('base64')}`);
  });
});
