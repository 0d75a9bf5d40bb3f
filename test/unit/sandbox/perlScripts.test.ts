// The sandbox's Perl programs live in their own files (server/src/sandbox/perl): each must pass
// perl's own syntax check, with warnings on, and be what the server loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { perlScript } from '../../../server/src/sandbox/perl';

const DIR = join(__dirname, '..', '..', '..', 'server', 'src', 'sandbox', 'perl');

describe('the sandbox Perl programs', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.pl'));

  it('are the two the server runs', () => {
    assert.deepEqual(files.sort(), ['reset.pl', 'supervisor.pl']);
  });

  for (const file of files) {
    it(`${file} passes perl -wc`, () => {
      // perl reports on stderr: nothing but "syntax OK", no warning.
      const out = spawnSync('perl', ['-wc', join(DIR, file)], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stderr, `${join(DIR, file)} syntax OK\n`);
    });

    it(`${file} is what the server loads`, () => {
      assert.equal(perlScript(file as 'supervisor.pl' | 'reset.pl'), readFileSync(join(DIR, file), 'utf8'));
    });
  }
});
