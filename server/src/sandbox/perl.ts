// The Perl programs of the sandbox layer live in ./perl/*.pl, each syntax-checked by the tests.
// They are read from server/src/sandbox/perl when run from source, from server/dist/perl next to
// the bundle (esbuild.mjs copies them) when run built.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const read = (name: string): string => readFileSync(join(__dirname, 'perl', name), 'utf8');

// Read when the module loads, like the rest of the code, not at first use: a server that drops
// privileges after loading (as test/support/unprivilegedServer.cjs does) may no longer be able
// to read its own install directory.
const SCRIPTS = { 'supervisor.pl': read('supervisor.pl'), 'reset.pl': read('reset.pl') };

/** The text of perl/NAME, passed to `perl -e` (a sandbox cannot see the host's copy). */
export function perlScript(name: keyof typeof SCRIPTS): string {
  return SCRIPTS[name];
}
