// Which tool call ends a turn's changes (the agent loop's signal that makes a checkpoint): the
// turn's last file-changing call, also when calls that change nothing follow it, and also when
// that last call failed before it ran (its turn's earlier changes still end there). Through the
// real loop, workspace and bwrap sandbox with the scripted model.
import assert from 'node:assert/strict';
import type { Workspace } from '../../server/src/workspace/types';
import { RecordingHost, startAgentFixture, type AgentFixture } from './agent/agentFixture';

/** Records, per file-changing call, whether the loop said the turn's changes end there. */
class TurnHost extends RecordingHost {
  readonly signals: Array<{ turnEnds: boolean; files: string[] }> = [];
  constructor(private readonly ws: Workspace) {
    super(ws);
  }
  override async onFilesChanged(turnEnds?: boolean): Promise<void> {
    this.signals.push({ turnEnds: turnEnds === true, files: (await this.ws.changedFiles()).map((f) => f.path).sort() });
  }
}

const shell = (command: string) => ({ name: 'shell', arguments: { command } });

describe('checkpoints: the end of a turn', function () {
  this.timeout(60_000);
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture({ 'README.md': '# r\n' });
  });
  after(async () => fx?.close());

  it("signals the end at each turn's last file-changing call", async () => {
    fx.fake.setScript('turns', [
      // Two changes, then a read: the second change ends the turn's changes.
      { toolCalls: [shell('echo a > a.txt'), shell('echo b > b.txt'), { name: 'read_file', arguments: { path: 'a.txt' } }] },
      // Reads only: nothing to signal.
      { toolCalls: [{ name: 'list_files', arguments: {} }] },
      // A change, then a file-changing call with arguments that do not parse: the turn still ends.
      { toolCalls: [shell('echo c > c.txt'), { name: 'shell', arguments: '{"command": ' }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
    ]);
    const host = new TurnHost(fx.workspace);
    const { outcome } = await fx.run('Go [[script:turns]]', { host });
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(host.signals, [
      { turnEnds: false, files: ['a.txt'] },
      { turnEnds: true, files: ['a.txt', 'b.txt'] },
      { turnEnds: false, files: ['a.txt', 'b.txt', 'c.txt'] },
      { turnEnds: true, files: ['a.txt', 'b.txt', 'c.txt'] },
    ]);
  });
});
