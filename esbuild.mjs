// One build for the three bundles (extension, webview, server) plus the bundled VS Code test suite.
// Type checking is separate: `npm run typecheck` (tsc --noEmit).
//   node esbuild.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const builds = [
  {
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    // The first statement of the bundle: lets the extension report how long loading it took.
    banner: { js: '"use strict";\nvar __delegateLoadStart = performance.now();' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: ['src/webview/panel.ts'],
    outfile: 'media/dist/panel.js',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
  },
  {
    ...common,
    entryPoints: ['server/src/main.ts'],
    outfile: 'server/dist/main.js',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Native addons and their optional native deps are resolved from node_modules at run time.
    external: ['better-sqlite3', 'dockerode', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate'],
  },
  {
    ...common,
    // The web interface (web/), served by the server from server/dist/web as app.js + app.css.
    entryPoints: ['web/src/main.tsx'],
    entryNames: 'app',
    outdir: 'server/dist/web',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
  },
  {
    ...common,
    sourcemap: 'inline',
    minify: false,
    // Every file of the suite is its own entry; suite/index.ts finds the *.test.js files at run time.
    entryPoints: ['test/vscode/suite/*.ts'],
    outdir: 'dist-test/vscode/suite',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha'],
  },
].filter((b) => b.entryPoints.every((e) => e.includes('*') ? existsSync(e.slice(0, e.lastIndexOf('/'))) : existsSync(e)));

// The Perl programs the sandbox runs (server/src/sandbox/perl) are read at run time from next to
// the server bundle: server/dist/perl.
const PERL_SOURCES = 'server/src/sandbox/perl';
mkdirSync('server/dist/perl', { recursive: true });
for (const name of readdirSync(PERL_SOURCES)) copyFileSync(`${PERL_SOURCES}/${name}`, `server/dist/perl/${name}`);

// The web interface's page: the server fills in its <meta> tags per request.
mkdirSync('server/dist/web', { recursive: true });
copyFileSync('web/index.html', 'server/dist/web/index.html');

if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
  console.log(`watching ${builds.length} bundles`);
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
