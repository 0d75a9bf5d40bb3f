// The local server's output in the Output channel: each JSON line at its own level (not all as
// warnings because the server writes its log on stderr), other output at its stream's level.
import * as assert from 'node:assert/strict';
import { LineSplitter, parseServerLine } from '../../../src/server/serverLog';

describe('extension: server log lines', () => {
  it('gives a JSON log line its own level and keeps its fields', () => {
    assert.deepEqual(parseServerLine('{"time":"2026-12-05T00:00:00.000Z","level":"info","msg":"listening","url":"http://127.0.0.1:7420"}', 'stderr'),
      { level: 'info', text: 'listening {"url":"http://127.0.0.1:7420"}' });
    assert.deepEqual(parseServerLine('{"time":"t","level":"error","msg":"job crashed"}', 'stderr'), { level: 'error', text: 'job crashed' });
    assert.deepEqual(parseServerLine('{"time":"t","level":"debug","msg":"x"}', 'stderr'), { level: 'debug', text: 'x' });
    assert.deepEqual(parseServerLine('{"time":"t","level":"warn","msg":"no model endpoint configured"}', 'stderr').level, 'warn');
  });

  it('keeps other output at its stream\'s level', () => {
    assert.deepEqual(parseServerLine('npm warn exec The following package was not found', 'stderr'), { level: 'warn', text: 'npm warn exec The following package was not found' });
    assert.deepEqual(parseServerLine('Delegate server 0.1.0', 'stdout'), { level: 'info', text: 'Delegate server 0.1.0' });
    assert.deepEqual(parseServerLine('{"not":"a log record"}', 'stdout'), { level: 'info', text: '{"not":"a log record"}' });
    assert.deepEqual(parseServerLine('{"level":"info","msg":', 'stderr').level, 'warn');
  });

  it('joins lines split across chunks', () => {
    const lines = new LineSplitter();
    assert.deepEqual(lines.push('{"level":"info",'), []);
    assert.deepEqual(lines.push('"msg":"a"}\n{"level":"warn","msg":"b"}\r\npartial'), ['{"level":"info","msg":"a"}', '{"level":"warn","msg":"b"}']);
    assert.deepEqual(lines.flush(), ['partial']);
  });
});
