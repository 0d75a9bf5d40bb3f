// Runs the built server as an unprivileged user, the way a desktop user runs it as themselves.
// Started as root (the test box), it loads the bundle first — the checkout it lives in need not be
// readable by that user — then drops to the uid/gid in DELEGATE_TEST_UID/GID for good.
'use strict';
const path = require('node:path');
const server = require(path.join(__dirname, '..', '..', 'server', 'dist', 'main.js'));
// better-sqlite3 loads its native addon on first use: load it now, while the files are readable.
new (require('better-sqlite3'))(':memory:').close();
// The test's working directory may be unreachable for that user too.
process.chdir('/');
const uid = Number(process.env.DELEGATE_TEST_UID);
const gid = Number(process.env.DELEGATE_TEST_GID);
if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid <= 0) throw new Error('DELEGATE_TEST_UID/GID must name an unprivileged user');
delete process.env.DELEGATE_TEST_UID;
delete process.env.DELEGATE_TEST_GID;
process.setgroups([gid]);
process.setgid(gid);
process.setuid(uid);
if (process.getuid() !== uid || process.geteuid() !== uid) throw new Error('could not drop privileges');
server.main(process.argv.slice(2));
