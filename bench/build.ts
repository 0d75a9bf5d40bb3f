// Builds what the bench runs and measures, from the current sources, into places nobody else
// reads: the server bundle (bench/.build/server/main.js, so a concurrent `npm run build` cannot
// swap it mid-run) and a production extension bundle in a temp dir (only its size is kept).
// The options mirror esbuild.mjs, which builds in place and so cannot be pointed elsewhere.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const ROOT = join(__dirname, '..');
export const BUILD_DIR = join(__dirname, '.build');
const PERL_SOURCES = 'server/src/sandbox/perl';

/** Bundles server/src/main.ts; returns the bundle's path. Externals resolve from ROOT/node_modules. */
export async function buildServer(): Promise<string> {
  const outfile = join(BUILD_DIR, 'server', 'main.js');
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['server/src/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: false,
    minify: false,
    logLevel: 'warning',
    legalComments: 'none',
    external: ['better-sqlite3', 'dockerode', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate'],
  });
  // The sandbox's Perl programs are read from next to the bundle at run time, as in esbuild.mjs.
  const perl = join(BUILD_DIR, 'server', 'perl');
  mkdirSync(perl, { recursive: true });
  for (const name of readdirSync(join(ROOT, PERL_SOURCES))) copyFileSync(join(ROOT, PERL_SOURCES, name), join(perl, name));
  return outfile;
}

export interface BundleSize {
  bytes: number;
  gzipBytes: number;
}

/** The extension as `node esbuild.mjs --production` bundles it (minified, no source map). */
export async function extensionBundleSize(): Promise<BundleSize> {
  const dir = mkdtempSync(join(tmpdir(), 'delegate-bench-ext-'));
  try {
    const outfile = join(dir, 'extension.js');
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ['src/extension.ts'],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode'],
      sourcemap: false,
      minify: true,
      logLevel: 'warning',
      legalComments: 'none',
    });
    return { bytes: statSync(outfile).size, gzipBytes: gzipSync(readFileSync(outfile)).length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Activation {
  measured: boolean;
  source: string;
  data?: unknown;
}

/** Activation time comes only from a real VS Code run (test/vscode writes this file). */
export function readActivation(): Activation {
  const file = join(ROOT, 'test-output', 'vscode', 'activation.json');
  if (!existsSync(file)) return { measured: false, source: `${file} does not exist: not measured (run npm run test:vscode first)` };
  try {
    return { measured: true, source: file, data: JSON.parse(readFileSync(file, 'utf8')) as unknown };
  } catch (err) {
    return { measured: false, source: `${file} is not JSON: ${(err as Error).message}` };
  }
}
