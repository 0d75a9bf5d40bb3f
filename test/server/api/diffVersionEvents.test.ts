// A change the recorder snapshots is announced once: one diff.updated with the changed files and
// the diff's version (named from the snapshot's tree, not from a second whole diff), the version
// GET /diff serves for the same content; a change of content alone (same files, same line counts)
// is a new version. Through the real server.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

type DiffUpdated = Extract<TaskEvent, { type: 'diff.updated' }>;
const VERSION = 'x-delegate-diff-version';

describe('diff versions on diff.updated', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-dvev-'));
    makeRepo(repo, { 'README.md': '# r\n' });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('announces a snapshotted change\'s version once, the one GET /diff serves; new content is a new version', async () => {
    // The sleeps put each change more than a second after the last snapshot: its record snapshots.
    model.setScript('dvev', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo a > f.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 2.5; echo b > g.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 2.5; echo c > g.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote f and g.' } }] },
    ]);
    const t = await createTask(server, repo, 'Write [[script:dvev]]');
    assert.equal((await waitForTask(server, t.id, isDone)).status, 'completed');
    const events = await allEvents(server, t.id);
    const diffs = events.filter((e): e is DiffUpdated => e.type === 'diff.updated');
    const calls = events.filter((e) => e.type === 'tool.call');
    // Each names the tool call that changed the files.
    const after = (k: number) => diffs.filter((d) => d.cause === calls[k]!.seq);

    // The files go out as soon as git names them; the version follows once the snapshot's tree
    // names it: one diff.updated carries it.
    const versioned = (k: number) => after(k).filter((d) => d.diffVersion !== undefined);
    assert.deepEqual(after(1)[0]!.changedFiles.map((f) => f.path).sort(), ['f.txt', 'g.txt'], 'g.txt at once');
    const second = versioned(1);
    assert.equal(second.length, 1, `one versioned diff.updated for the change that added g.txt: ${JSON.stringify(after(1))}`);
    assert.deepEqual(second[0]!.changedFiles.map((f) => f.path).sort(), ['f.txt', 'g.txt']);
    assert.match(second[0]!.diffVersion ?? '', /^[0-9a-f]{16}$/, 'it carries the version');

    const third = versioned(2);
    assert.equal(third.length, 1, `one versioned diff.updated for the content change: ${JSON.stringify(after(2))}`);
    assert.deepEqual(third[0]!.changedFiles, second[0]!.changedFiles, 'same files, same line counts');
    assert.ok(third[0]!.diffVersion && third[0]!.diffVersion !== second[0]!.diffVersion, 'new content, new version');

    const versions = diffs.flatMap((d) => (d.diffVersion ? [d.diffVersion] : []));
    assert.equal(new Set(versions).size, versions.length, `no version announced twice in a row: ${versions.join(' ')}`);
    const served = await api<string>(server, 'GET', `/v1/tasks/${t.id}/diff`);
    assert.equal(served.headers.get(VERSION), versions.at(-1), 'GET /diff names the last announced diff');
    assert.match(served.body, /\+c/);
  });
});
