// Users (#16): a data dir written before tasks had owners (store schema 1) keeps working: its tasks
// become the admin's, which users do not see; and the flags are checked at start.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../../protocol';
import { ConfigError, parseConfig, type Config } from '../../../server/src/config';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { as, fakeUsers, USERS } from './fixture';

describe('users: an older data dir', function () {
  this.timeout(60_000);
  let github: FakeGitHub;
  let server: ServerProcess;
  const id = '00000000-0000-4000-8000-000000000001';
  before(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'delegate-users-old-'));
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(join(dataDir, 'delegate.sqlite'));
    // Schema 1 as the server wrote it before owners.
    db.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
      CREATE TABLE attempts (task_id TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (task_id, idx));
      CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, consumed INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX messages_pending ON messages (task_id, consumed);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX events_task ON events (task_id, seq);
      CREATE TABLE repo_specs (task_id TEXT PRIMARY KEY, data TEXT NOT NULL);
      PRAGMA user_version = 1;`);
    const now = new Date().toISOString();
    const usage = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, reasoningTokens: 0, costUsd: 0, modelRequests: 0 };
    const task = { id, status: 'completed', prompt: 'old', repo: { kind: 'local', name: 'p', path: '/nowhere' }, options: {}, createdAt: now, updatedAt: now, finishedAt: now, usage, changedFiles: [] };
    db.prepare('INSERT INTO tasks (id, created_at, data) VALUES (?, ?, ?)').run(id, now, JSON.stringify(task));
    db.prepare('INSERT INTO attempts (task_id, idx, data) VALUES (?, ?, ?)').run(id, 0, JSON.stringify({ taskId: id, index: 0, status: 'completed', workspaceKey: id, history: [], usage, changedFiles: [] }));
    db.prepare('INSERT INTO events (task_id, type, data) VALUES (?, ?, ?)').run(id, 'task.created', JSON.stringify({ type: 'task.created', taskId: id, task, at: now }));
    db.close();
    github = await startFakeGitHub({ token: 'server-side-unused-token', users: fakeUsers() });
    server = await startServer({ dataDir, args: ['--github-allow', 'alice', '--github-api-url', github.apiBaseUrl, '--sandbox', 'none'] });
  });
  after(async () => {
    await server?.stop();
    await github?.close();
  });

  it('keeps its tasks as the admin\'s, hidden from users', async () => {
    const all = await api<{ tasks: Task[] }>(server, 'GET', '/v1/tasks');
    assert.deepEqual(all.body.tasks.map((t) => t.id), [id]);
    const alice = as(server.url, USERS.alice!.token);
    assert.deepEqual((await api<{ tasks: Task[] }>(alice, 'GET', '/v1/tasks')).body.tasks, []);
    assert.equal((await api(alice, 'GET', `/v1/tasks/${id}`)).status, 404);
  });
});

describe('users: flags', () => {
  const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(['--data-dir', '/tmp/x', ...args], env, 1000) as Config;

  it('reads --github-allow and DELEGATE_GITHUB_ALLOW as lowercase logins and org:NAME entries', () => {
    assert.deepEqual(parse(['--github-allow', 'Alice, org:Acme ,bob']).githubAllow, ['alice', 'org:acme', 'bob']);
    assert.deepEqual(parse([], { DELEGATE_GITHUB_ALLOW: 'carol' }).githubAllow, ['carol']);
    assert.deepEqual(parse([]).githubAllow, []);
    assert.throws(() => parse(['--github-allow', 'https://github.com/alice']), ConfigError);
  });

  it('defaults --max-parallel-per-user to half the slots, at least 1, and refuses more than --max-parallel', () => {
    assert.equal(parse(['--max-parallel', '8']).maxParallelPerUser, 4);
    assert.equal(parse(['--max-parallel', '1']).maxParallelPerUser, 1);
    assert.equal(parse(['--max-parallel', '3']).maxParallelPerUser, 1);
    assert.equal(parse(['--max-parallel', '4', '--max-parallel-per-user', '3']).maxParallelPerUser, 3);
    assert.throws(() => parse(['--max-parallel', '2', '--max-parallel-per-user', '3']), ConfigError);
  });

  it('keeps a GitHub verdict at most 5 minutes', () => {
    assert.equal(parse([]).githubAuthCacheMs, 300_000);
    assert.equal(parse([], { DELEGATE_GITHUB_AUTH_CACHE_MS: '1000' }).githubAuthCacheMs, 1000);
    assert.throws(() => parse([], { DELEGATE_GITHUB_AUTH_CACHE_MS: '600000' }), ConfigError);
  });
});
