// CPU time of a process and everything under it, from /proc: each live process's own time plus
// what its exited, waited-for children used (cutime/cstime), which covers every process the server
// started (git through the launcher, commands through a sandbox's supervisor) as long as its
// parent lives or was itself waited for. Work still running when it is read is counted so far.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Proc {
  ppid: number;
  ms: number;
}

function processes(): Map<number, Proc> {
  const all = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(name), { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS });
    } catch {
      // it exited while we looked
    }
  }
  return all;
}

/** Milliseconds of CPU used so far by `root` and its descendants. */
export function treeCpuMs(root: number): number {
  const all = processes();
  let total = 0;
  for (const [pid, proc] of all) {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 0 && hops < 64; p = all.get(p)?.ppid, hops++) {
      if (p === root) {
        total += proc.ms;
        break;
      }
    }
  }
  return total;
}
