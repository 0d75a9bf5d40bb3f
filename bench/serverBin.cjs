'use strict';
// Runs a server bundle built by bench/build.ts: node serverBin.cjs BUNDLE [delegate-server args].
require(process.argv[2]).main(process.argv.slice(3));
