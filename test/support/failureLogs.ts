// When a test fails, the error lines its servers logged meanwhile are printed beside the failure:
// a 500 in CI then says what went wrong inside the server (the response only says "internal").
// A mocha root hook plugin (`--require`), fed by serverProcess.ts and fleet.ts.

interface Watched {
  name: string;
  logs: () => string;
  exited: () => boolean;
  /** How much of logs() earlier tests already had. */
  seen: number;
}

let servers: Watched[] = [];

/** A server process whose log a failing test should show; dropped once it has exited and been read. */
export function watchLogs(name: string, logs: () => string, exited: () => boolean): void {
  servers.push({ name, logs, exited, seen: 0 });
}

/** Lines at level error or warn that `log` holds past `from`, at most `max`, each cut at 1,000 characters. */
export function problemLines(log: string, from: number, max = 20): string[] {
  return log
    .slice(from)
    .split('\n')
    .filter((l) => /^\{.*"level":"(error|warn)"/.test(l))
    .slice(-max)
    .map((l) => (l.length > 1000 ? `${l.slice(0, 1000)}…` : l));
}

export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const failed = this.currentTest?.state === 'failed';
    for (const s of servers) {
      const log = s.logs();
      if (failed) {
        const lines = problemLines(log, s.seen);
        if (lines.length) console.log(`    [${s.name} logged while the test ran]\n${lines.map((l) => `      ${l}`).join('\n')}`);
      }
      s.seen = log.length;
    }
    servers = servers.filter((s) => !s.exited());
  },
};
