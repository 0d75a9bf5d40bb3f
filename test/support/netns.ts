// Network namespaces for tests that cut one server node off (root only). Each namespace gets a veth
// pair with private addresses (host 10.231.X.1, namespace 10.231.X.2, a /30), nothing else: no
// bridge, no route beyond the pair, no iptables. A process started with `ns.command` has only that
// link and its own loopback, so services on the host's loopback (the test's PostgreSQL, the
// scripted model) are offered to it through `ns.expose(port)`: a TCP relay listening on the
// host-side address. `cut()` takes the host end down, which stops every packet both ways, as a
// pulled cable does; `heal()` brings it back.
//
// Everything is named after this process (dlg<pid>-<n>) and removed by that name: by `remove()`,
// and at exit for whatever a failing test left.
import { execFileSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';

const IP = '/usr/sbin/ip';
const NSENTER = '/usr/bin/nsenter';

export interface NetNs {
  name: string;
  /** The host end's address (what a process inside reaches the host by). */
  hostAddress: string;
  /** The address inside the namespace (what the host reaches a process inside by). */
  address: string;
  /** argv prefix that runs a program inside the namespace (network only: same files, same mounts). */
  command: string[];
  /** Offers a TCP port of the host's loopback inside the namespace; resolves to the port at hostAddress. */
  expose(port: number): Promise<number>;
  /** Take the link down: no packet passes either way until heal(). */
  cut(): void;
  heal(): void;
  /** Remove the namespace, its veth pair and its relays (idempotent). */
  remove(): Promise<void>;
}

const created = new Set<string>();
let counter = 0;

function ip(...args: string[]): string {
  return execFileSync(IP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The first 10.231.X.0/30 no interface of this machine uses (another run's namespaces keep theirs). */
function freeSubnet(): number {
  const used = new Set([...ip('-o', '-4', 'addr', 'show').matchAll(/inet 10\.231\.(\d+)\./g)].map((m) => Number(m[1])));
  for (let x = 1; x < 255; x++) if (!used.has(x)) return x;
  throw new Error('no free 10.231.X.0/30 subnet for a test namespace');
}

/** Namespaces a test process that died (SIGKILL, no exit handler) left: ours by name, their pid gone. */
function sweepStale(): void {
  for (const m of ip('netns', 'list').matchAll(/^dlg(\d+)-(\d+)/gm)) {
    const pid = Number(m[1]);
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      removeByName(m[0], `dh${pid % 1_000_000}x${m[2]}`);
    }
  }
}

export async function createNetns(): Promise<NetNs> {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root');
  if (counter === 0) sweepStale();
  const n = counter++;
  const name = `dlg${process.pid}-${n}`;
  // Interface names are at most 15 characters.
  const hostIf = `dh${process.pid % 1_000_000}x${n}`;
  const nsIf = `dn${process.pid % 1_000_000}x${n}`;
  const x = freeSubnet();
  const hostAddress = `10.231.${x}.1`;
  const address = `10.231.${x}.2`;
  created.add(name);
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', name, 'addr', 'add', `${address}/30`, 'dev', nsIf);
    ip('-n', name, 'link', 'set', nsIf, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    removeByName(name, hostIf);
    throw err;
  }
  const relays: Server[] = [];
  const sockets = new Set<Socket>();
  return {
    name,
    hostAddress,
    address,
    command: [NSENTER, `--net=/run/netns/${name}`, '--'],
    async expose(port) {
      const relay = createServer((inbound) => {
        const outbound = connect(port, '127.0.0.1');
        for (const s of [inbound, outbound]) {
          sockets.add(s);
          s.once('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        inbound.pipe(outbound).on('error', () => inbound.destroy());
        outbound.pipe(inbound).on('error', () => outbound.destroy());
        inbound.once('close', () => outbound.destroy());
        outbound.once('close', () => inbound.destroy());
      });
      relays.push(relay);
      await new Promise<void>((resolve, reject) => relay.once('error', reject).listen(0, hostAddress, resolve));
      const addr = relay.address();
      return typeof addr === 'object' && addr ? addr.port : 0;
    },
    cut: () => void ip('link', 'set', hostIf, 'down'),
    heal: () => void ip('link', 'set', hostIf, 'up'),
    async remove() {
      for (const s of sockets) s.destroy();
      await Promise.all(relays.splice(0).map((r) => new Promise<void>((resolve) => r.close(() => resolve()))));
      removeByName(name, hostIf);
    },
  };
}

function removeByName(name: string, hostIf: string): void {
  // Deleting the namespace destroys the veth end inside it, and with it the pair; the host end is
  // deleted by name in case the pair was half made.
  for (const args of [['netns', 'del', name], ['link', 'del', hostIf]]) {
    try {
      execFileSync(IP, args, { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  created.delete(name);
}

function removeAll(): void {
  for (const name of created) {
    const [, n] = name.split('-');
    removeByName(name, `dh${process.pid % 1_000_000}x${n}`);
  }
}
process.once('exit', removeAll);
// Interrupted (Ctrl-C, a CI timeout): remove them, then die of the signal as before.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    removeAll();
    process.kill(process.pid, signal);
  });
}
