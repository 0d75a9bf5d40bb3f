// The environment is read in one place (config.ts); every other part gets what it needs from the
// Config through its constructor or options, so what the server depends on is listed in one file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const SERVER_SRC = join(__dirname, '..', '..', '..', 'server', 'src');

describe('server environment', () => {
  it('is read only in config.ts', () => {
    const readers = readdirSync(SERVER_SRC, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => join(e.parentPath, e.name))
      .filter((file) => /\bprocess\.env\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SERVER_SRC, file));
    assert.deepEqual(readers, ['config.ts']);
  });
});
