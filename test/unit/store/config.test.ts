// The fleet's two flags: --database-url (or DELEGATE_DATABASE_URL) and --node-id.
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { ConfigError, HELP, parseConfig, type Config } from '../../../server/src/config';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, 1000) as Config;

describe('fleet flags', () => {
  it('keeps SQLite without a database URL and names the node HOSTNAME:PORT by default', () => {
    const c = parse(['--port', '7555']);
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.nodeId, `${hostname()}:7555`);
  });

  it('takes the database URL from the flag or the environment, the flag first', () => {
    assert.equal(parse([], { DELEGATE_DATABASE_URL: 'postgres://a@db:5432/d' }).databaseUrl, 'postgres://a@db:5432/d');
    assert.equal(parse(['--database-url', 'postgresql://b@db/e'], { DELEGATE_DATABASE_URL: 'postgres://a@db:5432/d' }).databaseUrl, 'postgresql://b@db/e');
    assert.equal(parse(['--node-id', 'pod-7.fleet']).nodeId, 'pod-7.fleet');
  });

  it('refuses a URL that is not PostgreSQL\'s without repeating it (it may hold a password)', () => {
    assert.throws(() => parse(['--database-url', 'mysql://u:hunter2@db/x']), (err: Error) => err instanceof ConfigError && /--database-url: expected postgres:\/\//.test(err.message) && !err.message.includes('hunter2'));
    assert.throws(() => parse(['--node-id', 'has space']), ConfigError);
    assert.throws(() => parse(['--node-id', '-dash']), ConfigError);
  });

  it('lets the per-user cap exceed one node\'s slots in a fleet only (there it counts across nodes)', () => {
    assert.throws(() => parse(['--max-parallel', '4', '--max-parallel-per-user', '6']), /expected 1\.\.4 \(--max-parallel\)/);
    assert.equal(parse(['--max-parallel', '4', '--max-parallel-per-user', '6', '--database-url', 'postgres://a@db/d']).maxParallelPerUser, 6);
    assert.match(HELP, /counts across every node/);
  });

  it('documents both in --help', () => {
    assert.match(HELP, /--database-url URL/);
    assert.match(HELP, /--node-id NAME/);
    assert.match(HELP, /DELEGATE_DATABASE_URL/);
  });
});
