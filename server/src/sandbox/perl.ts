// The Perl programs of the sandbox layer live in ./perl/*.pl, each syntax-checked by the tests.
// They are read once at run time: from server/src/sandbox/perl when run from source, from
// server/dist/perl next to the bundle (esbuild.mjs copies them) when run built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const scripts = new Map<string, string>();

/** The text of perl/NAME, passed to `perl -e` (a sandbox cannot see the host's copy). */
export function perlScript(name: 'supervisor.pl' | 'reset.pl'): string {
  let text = scripts.get(name);
  if (text === undefined) {
    text = readFileSync(join(__dirname, 'perl', name), 'utf8');
    scripts.set(name, text);
  }
  return text;
}
