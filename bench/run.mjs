// `npm run bench`: loads the TypeScript benchmark through tsx (as the tests do) and runs it.
//   node bench/run.mjs [--quick] [--only=start,plain,task,diff,concurrent,docker,fleet,extension] [--no-docker] [--files=N] [--max-load=3]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('tsx/cjs');
const { main } = require('./main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
