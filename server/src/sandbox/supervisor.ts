// A long-lived process inside a sandbox that starts the sandbox's commands, so an exec costs a
// fork inside the sandbox (~3 ms) instead of a new bwrap with its namespaces, mounts and seccomp
// filter (~35–45 ms here). It is Perl because perl-base is part of every Debian system and of the
// sandbox image, starts in ~5 ms and uses ~5 MB; it needs nothing beyond the core modules.
//
// Protocol, both ways over the supervisor's stdin/stdout: frames of u32be length + payload, the
// payload being a 1-byte type, a u32be command id and a body.
//   host → supervisor  S spawn: u32 env count, u32 argv count, u32 stdin (0 none, 1 these bytes,
//                        2 these and then I frames until C), u32 uid to become (0xFFFFFFFF:
//                        stay), u32 extra fd count, u32 flags (1: no_new_privs), u32 count of
//                        cgroup.procs files to join first; then cwd, env ("K=V"), argv and
//                        those files, each NUL-terminated; then per extra fd u32 length + data
//                        (fds 3, 4, ...); then the stdin bytes
//                      I more stdin · C end of stdin
//                      K kill:  u32 signal number, sent to the command's process group
//                      M mount: u32 flags; source, target, fstype, data NUL-separated (host only)
//                      U umount2: u32 flags; target
//   supervisor → host  R ready (id 0) · O stdout bytes · E stderr bytes · F could not start: why
//                      X exit: i32 exit code (-1 when signalled), i32 signal number; for M
//                        and U the code is the errno (0: done)
// Every command leads its own process group. When it exits the group is killed, and once no
// command is running every other descendant of the supervisor (a subreaper, so orphans stay its
// descendants; a daemon that called setsid) is killed too: nothing outlives the exec that started
// it, as with one bwrap per exec.
// The host treats every frame as untrusted: a command runs as the same uid and could write some.
// The server also runs one on the host (util/launcher.ts) for its own git and mount processes:
// node's spawn() blocks the server's event loop for the fork and the exec (7–13 ms here, up to
// ~60 ms of lag with a few at once); the supervisor forks in another process.
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { OutputCapture, DEFAULT_MAX_OUTPUT_BYTES } from './output';
import { DEFAULT_TIMEOUT_MS } from './processGroup';
import type { ExecOptions, ExecResult } from './types';

export const SUPERVISOR_SCRIPT = String.raw`
use strict;
# No modules (POSIX alone takes 20 ms to load here): Linux's numbers, which the host passes in
# where they differ between architectures.
use constant { WNOHANG => 1, F_SETFL => 4, O_NONBLOCK => 2048, EINTR => 4, EAGAIN => 11, NO_UID => 0xFFFFFFFF };
my ($prctl, $sweeps, $mount_nr, $umount_nr, $dup3_nr) = @ARGV;
$SIG{PIPE} = 'IGNORE';
binmode STDIN; binmode STDOUT;
# Whatever the launcher passed beyond stdio (bwrap's setup pipes) is not for the commands.
if (opendir(my $fds, '/proc/self/fd')) {
  my @stray = grep { /^\d+$/ && $_ > 2 } readdir $fds;
  closedir $fds;
  for my $fd (@stray) { if (open(my $fh, '<&=', $fd)) { close $fh } }
}
if ($prctl) {
  # Not dumpable (PR_SET_DUMPABLE 0): a command (same uid) cannot open /proc/<pid>/fd of the
  # supervisor or ptrace it.
  syscall($prctl, 4, 0);
  # A subreaper (PR_SET_CHILD_SUBREAPER 1): what a command leaves behind stays our descendant.
  syscall($prctl, 36, 1);
}
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
fcntl($_, F_SETFL, O_NONBLOCK) for $wake_r, $wake_w;
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };
my (%jobs, %by_pid);
my $ctl_buf = '';

sub send_frame {
  my ($type, $id, $data) = @_;
  my $payload = pack('a1 N', $type, $id) . ($data // '');
  my $frame = pack('N', length $payload) . $payload;
  while (length $frame) {
    my $n = syswrite(STDOUT, $frame);
    if (!defined $n) { next if $! == EINTR; exit 1 }
    substr($frame, 0, $n, '');
  }
}

sub spawn_job {
  my ($id, $body) = @_;
  # has_in: 0 no stdin (/dev/null), 1 this data then EOF, 2 this data and more in I frames until C.
  # flags: 1 no_new_privs before the exec. ncg: cgroup.procs files to join first.
  my ($nenv, $nargv, $has_in, $uid, $nfds, $flags, $ncg) = unpack('N N N N N N N', $body);
  my ($pos, @f, @fd_data) = (28);
  for (1 .. 1 + $nenv + $nargv + $ncg) {
    my $end = index($body, "\0", $pos);
    return send_frame('F', $id, 'malformed spawn request') if $end < 0;
    push @f, substr($body, $pos, $end - $pos);
    $pos = $end + 1;
  }
  # Data for fds 3, 4, ...: each a pipe that holds it and then gives EOF.
  for (1 .. $nfds) {
    return send_frame('F', $id, 'malformed spawn request') if $pos + 4 > length $body;
    my $len = unpack('N', substr($body, $pos, 4));
    return send_frame('F', $id, 'malformed spawn request') if $pos + 4 + $len > length $body || $len > 65536;
    push @fd_data, substr($body, $pos + 4, $len);
    $pos += 4 + $len;
  }
  return send_frame('F', $id, 'extra fds need the dup3 syscall number') if @fd_data && !$dup3_nr;
  my $stdin = $has_in ? substr($body, $pos) : undef;
  my $cwd = shift @f;
  my @env = splice(@f, 0, $nenv);
  my @argv = splice(@f, 0, $nargv);
  my @cgroups = @f;
  return send_frame('F', $id, 'no_new_privs needs the prctl syscall number') if ($flags & 1) && !$prctl;
  return send_frame('F', $id, 'empty command') unless @argv;
  pipe(my $out_r, my $out_w) or return send_frame('F', $id, "pipe: $!");
  pipe(my $err_r, my $err_w) or return send_frame('F', $id, "pipe: $!");
  my ($in_r, $in_w);
  if (defined $stdin) { pipe($in_r, $in_w) or return send_frame('F', $id, "pipe: $!") }
  my @extra;
  for my $data (@fd_data) {
    pipe(my $r, my $w) or return send_frame('F', $id, "pipe: $!");
    # At most 64 KiB: fits the pipe, so this does not block.
    syswrite($w, $data) if length $data;
    close $w;
    push @extra, $r;
  }
  # Close-on-exec (perl sets it above fd 2): EOF here means the exec happened.
  pipe(my $st_r, my $st_w) or return send_frame('F', $id, "pipe: $!");
  my $pid = fork;
  return send_frame('F', $id, "fork: $!") unless defined $pid;
  if ($pid == 0) {
    $SIG{PIPE} = 'DEFAULT'; $SIG{CHLD} = 'DEFAULT';
    # Its own process group, so that it and everything it starts can be killed as one.
    setpgrp(0, 0);
    my $fail = sub { syswrite($st_w, $_[0]); kill('KILL', $$) };
    # Into the cgroups first (as root), so it is limited from its first instruction as that uid.
    for my $procs (@cgroups) {
      open(my $cg, '>', $procs) or $fail->("cannot join $procs: $!");
      syswrite($cg, "$$\n") or $fail->("cannot join $procs: $!");
      close $cg;
    }
    if ($uid != NO_UID) {
      $( = $uid; $) = "$uid $uid";
      $< = $> = $uid;
      $fail->("cannot become uid $uid: $!") unless $< == $uid && $> == $uid && $( == $uid;
    }
    # PR_SET_NO_NEW_PRIVS: no setuid binary or file capability raises what it runs.
    if ($flags & 1) { syscall($prctl + 0, 38, 1, 0, 0, 0) == 0 or $fail->("no_new_privs: $!") }
    chdir($cwd) or $fail->("cannot chdir to $cwd: $!");
    if ($in_r) { open(STDIN, '<&', $in_r) or $fail->("stdin: $!") }
    else { open(STDIN, '<', '/dev/null') or $fail->("stdin: $!") }
    open(STDOUT, '>&', $out_w) or $fail->("stdout: $!");
    open(STDERR, '>&', $err_w) or $fail->("stderr: $!");
    if (@extra) {
      # Now that 0-2 are set, only the status pipe is still needed: it and the extra fds move out
      # of the way (F_DUPFD_CLOEXEC, 100 and up), then the extra fds onto 3, 4, ...
      my $st = fcntl($st_w, 1030, 200) or $fail->("fcntl: $!");
      open(my $st_h, '>&=', $st + 0) or $fail->("fcntl: $!");
      $st_w = $st_h;
      my @high = map { fcntl($_, 1030, 100) or $fail->("fcntl: $!") } @extra;
      for my $i (0 .. $#high) { syscall($dup3_nr + 0, $high[$i] + 0, 3 + $i, 0) == 3 + $i or $fail->("dup3: $!") }
    }
    %ENV = ();
    for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v // '' }
    exec { $argv[0] } @argv;
    $fail->("cannot run $argv[0]: $!");
  }
  close $out_w; close $err_w; close $st_w;
  close $_ for @extra;
  close $in_r if $in_r;
  my $why = '';
  for (;;) {
    my $n = sysread($st_r, my $chunk, 4096);
    if (!defined $n) { next if $! == EINTR; last }
    last if $n == 0;
    $why .= $chunk;
  }
  close $st_r;
  if ($why ne '') {
    close $out_r; close $err_r; close $in_w if $in_w;
    $by_pid{$pid} = undef; # reaped without a report
    return send_frame('F', $id, $why);
  }
  fcntl($_, F_SETFL, O_NONBLOCK) for $out_r, $err_r, $in_w ? $in_w : ();
  my $job = { id => $id, pid => $pid, out => $out_r, err => $err_r, in => $in_w, pending => $stdin // '', stream => $has_in == 2 };
  if ($in_w && $job->{pending} eq '' && !$job->{stream}) { close $in_w; $job->{in} = undef }
  $jobs{$id} = $job;
  $by_pid{$pid} = $job;
}

sub running { grep { !defined $_->{status} } values %jobs }

# Kills every descendant (called when no command runs): daemons that left their group. Inside a
# sandbox /proc lists a handful of processes; on the host it is off (it would read them all).
sub sweep {
  return unless $sweeps;
  opendir(my $d, '/proc') or return;
  my %children;
  for my $p (grep { /^\d+$/ } readdir $d) {
    open(my $fh, '<', "/proc/$p/stat") or next;
    my $stat = <$fh> // '';
    close $fh;
    # pid (comm) state ppid ...; comm may hold anything, so from the last ')'.
    push @{ $children{$1} }, $p if $stat =~ /.*\)\s+\S+\s+(\d+)/s;
  }
  closedir $d;
  my @queue = @{ $children{$$} // [] };
  my @all;
  while (@queue) {
    my $p = shift @queue;
    push @all, $p;
    push @queue, @{ $children{$p} // [] };
  }
  kill('KILL', @all) if @all;
}

sub reap {
  while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
    my $st = $?;
    next unless exists $by_pid{$pid};
    my $job = delete $by_pid{$pid};
    next unless $job;
    $job->{status} = $st;
    $job->{exited} = time;
    kill('KILL', -$pid); # what it left running in its group
  }
  sweep() if !running() && %jobs;
}

sub close_job_fd {
  my ($job, $key) = @_;
  close $job->{$key} if $job->{$key};
  $job->{$key} = undef;
}

sub finish_done {
  for my $job (values %jobs) {
    next unless defined $job->{status};
    my $draining = $job->{out} || $job->{err};
    # Something outside its group may still hold the pipes: wait 2 s for them, not forever.
    next if $draining && time - $job->{exited} < 2;
    close_job_fd($job, $_) for qw(out err in);
    my $st = $job->{status};
    my ($code, $sig) = ($st & 127) ? (-1, $st & 127) : ($st >> 8, 0);
    send_frame('X', $job->{id}, pack('l> l>', $code, $sig));
    delete $jobs{$job->{id}};
  }
}

sub handle_frames {
  while (length($ctl_buf) >= 4) {
    my $len = unpack('N', $ctl_buf);
    last if length($ctl_buf) < 4 + $len;
    my $payload = substr($ctl_buf, 4, $len);
    substr($ctl_buf, 0, 4 + $len, '');
    my ($type, $id) = unpack('a1 N', $payload);
    my $body = substr($payload, 5);
    if ($type eq 'S') { spawn_job($id, $body) }
    elsif ($type eq 'I' || $type eq 'C') {
      # More stdin for a streaming job; C: no more after what is pending.
      my $job = $jobs{$id};
      next unless $job && $job->{in};
      if ($type eq 'I') { $job->{pending} .= $body }
      else { $job->{stream} = 0; close_job_fd($job, 'in') if $job->{pending} eq '' }
    }
    elsif ($type eq 'K') {
      my $job = $jobs{$id};
      kill(unpack('N', $body), -$job->{pid}) if $job && !defined $job->{status};
    }
    elsif ($type eq 'M' || $type eq 'U') {
      # mount(2) / umount2(2) without a mount process (~25 ms each on a busy machine); the answer
      # is an exit frame whose code is the errno (0: done).
      my $r = -1;
      if ($type eq 'M' && $mount_nr) {
        my ($flags, $source, $target, $fstype, $data) = (unpack('N', $body), split(/\0/, substr($body, 4), 4));
        $r = syscall($mount_nr, $source, $target, $fstype, $flags, $data // '');
      } elsif ($type eq 'U' && $umount_nr) {
        my ($flags, $target) = (unpack('N', $body), substr($body, 4));
        $r = syscall($umount_nr, $target, $flags);
      } else { $! = 38 } # ENOSYS
      send_frame('X', $id, pack('l> l>', $r == 0 ? 0 : $! + 0, 0));
    }
  }
}

send_frame('R', 0, '');
for (;;) {
  my ($rin, $win) = ('', '');
  vec($rin, fileno(STDIN), 1) = 1;
  vec($rin, fileno($wake_r), 1) = 1;
  my $draining = 0;
  for my $job (values %jobs) {
    vec($rin, fileno($job->{$_}), 1) = 1 for grep { $job->{$_} } qw(out err);
    vec($win, fileno($job->{in}), 1) = 1 if $job->{in} && $job->{pending} ne '';
    $draining = 1 if defined $job->{status};
  }
  my $n = select(my $rout = $rin, my $wout = $win, undef, $draining ? 0.1 : undef);
  if ($n < 0) { next if $! == EINTR; die "select: $!" }
  if ($n > 0 && vec($rout, fileno($wake_r), 1)) { 1 while sysread($wake_r, my $x, 64) }
  reap();
  if ($n > 0 && vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, $ctl_buf, 1 << 16, length $ctl_buf);
    if (defined $got && $got == 0) {
      # The server closed the channel: end every command and leave (exit, not a signal to
      # itself: as a sandbox's pid 1 it would ignore that).
      kill('KILL', -$_->{pid}) for running();
      sweep();
      exit 0;
    }
    handle_frames() if $got;
  }
  for my $job (values %jobs) {
    for my $key (qw(out err)) {
      my $fh = $job->{$key};
      next unless $fh && $n > 0 && vec($rout, fileno($fh), 1);
      my $got = sysread($fh, my $chunk, 1 << 16);
      next if !defined $got && ($! == EINTR || $! == EAGAIN);
      if (!$got) { close_job_fd($job, $key); next }
      send_frame($key eq 'out' ? 'O' : 'E', $job->{id}, $chunk);
    }
    my $in = $job->{in};
    if ($in && $n > 0 && vec($wout, fileno($in), 1)) {
      my $put = syswrite($in, $job->{pending});
      if (defined $put) { substr($job->{pending}, 0, $put, '') }
      elsif ($! != EINTR && $! != EAGAIN) { $job->{pending} = '' }
      close_job_fd($job, 'in') if $job->{pending} eq '' && !$job->{stream};
    }
  }
  finish_done();
}
`;

/**
 * The supervisor's arguments after the script: prctl's syscall number here (0: unknown), whether
 * to sweep leftover descendants after each command (in a sandbox), and the numbers of mount,
 * umount2 and dup3.
 */
export function supervisorArgs(options: { sweep: boolean }): string[] {
  const numbers = ({ x64: [157, 165, 166, 292], arm64: [167, 40, 39, 24] } as Record<string, number[]>)[process.arch] ?? [0, 0, 0, 0];
  const [prctl, mount, umount2, dup3] = numbers;
  return [String(prctl), options.sweep ? '1' : '0', String(mount), String(umount2), String(dup3)];
}

/** Largest frame the host accepts: the supervisor sends output in chunks of at most 64 KiB. */
const MAX_FRAME = 1 << 20;
/** Data per extra fd (fits a pipe, so the supervisor's write cannot block), and per stdin frame. */
const MAX_FD_DATA = 1 << 16;

export interface SpawnRequest {
  argv: string[];
  /** Absolute. */
  cwd: string;
  /** The whole environment of the process. */
  env: Record<string, string>;
  /** Written to its stdin, which is then closed; none: /dev/null. 'stream': SpawnHandle.write/end. */
  stdin?: string | Buffer | 'stream';
  /** Become this uid and gid first (the supervisor must be root). */
  uid?: number;
  /** Data for fds 3, 4, ... (at most 64 KiB each): a pipe each, EOF after the data. */
  fds?: Buffer[];
  /** cgroup.procs files it joins before anything else (the supervisor must be root). */
  cgroups?: string[];
  /** PR_SET_NO_NEW_PRIVS before the exec. */
  noNewPrivs?: boolean;
}

export interface SpawnEnd {
  /** null: killed by a signal, or it never started. */
  code: number | null;
  /** Signal number that ended it, 0 if none. */
  signal: number;
  /** Why it could not start or could not finish (the supervisor failed). */
  failure?: string;
}

export interface SpawnHandlers {
  stdout?(chunk: Buffer): void;
  stderr?(chunk: Buffer): void;
  end(end: SpawnEnd): void;
}

export interface SpawnHandle {
  /** Signals the process group (default SIGKILL). */
  kill(signal?: number): void;
  /** More stdin (stdin: 'stream' only). */
  write?(data: Buffer): void;
  /** No more stdin after what was written (stdin: 'stream' only). */
  end?(): void;
}

export interface SupervisorOptions {
  /** Kills the supervisor process (and with it whatever it started). */
  kill: () => void;
  /** Told when the first command starts and when the last one ends (to ref/unref the child). */
  onBusy?: (busy: boolean) => void;
  /** What errors call it (default "sandbox"). */
  name?: string;
}

export const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));
const NO_UID = 0xffffffff;

/**
 * The host end of one supervisor: framing, the processes in flight and how each ends. The caller
 * starts the supervisor process (inside a sandbox, or on the host) and hands it over; once it dies
 * (`dead`) every process in flight has ended with a failure and a new supervisor is needed.
 */
/** What SupervisorClient needs of the supervisor's process: a ChildProcess, or launchChild()'s. */
export interface SupervisorChild {
  readonly stdin: { readonly writable: boolean; write(data: Buffer): unknown; on(event: 'error', listener: (err: Error) => void): unknown } | null;
  readonly stdout: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

export class SupervisorClient {
  readonly ready: Promise<string | null>;
  private readonly jobs = new Map<number, SpawnHandlers>();
  private nextId = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private stderr = '';
  private failure: string | null = null;
  private markReady!: (failure: string | null) => void;
  private stopping = false;
  private readyNow = false;
  private readonly name: string;

  constructor(
    private readonly child: ChildProcess | SupervisorChild,
    private readonly options: SupervisorOptions,
  ) {
    this.name = options.name ?? 'sandbox';
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    child.stdin?.on('error', () => {});
    child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (err) => this.fail(`could not start the ${this.name}: ${err.message}`));
    child.on('exit', (code, signal) => {
      const why = this.stderr.trim() || `exit ${code ?? signal}`;
      this.fail(`the ${this.name} stopped (${why})`);
    });
  }

  /** It said it is ready (and has not died since). */
  get isReady(): boolean {
    return this.readyNow && this.failure === null;
  }

  /** Something it started (or a mount it does) has not ended yet. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  /** Dead: a new command needs a new supervisor. */
  get dead(): boolean {
    return this.failure !== null;
  }

  /** Starts one process; `handlers.end` is called exactly once, also when it cannot start. */
  spawn(request: SpawnRequest, handlers: SpawnHandlers): SpawnHandle {
    const id = this.nextId++;
    const noop: SpawnHandle = { kill: () => {} };
    if (this.failure !== null) {
      handlers.end({ code: null, signal: 0, failure: this.failure });
      return noop;
    }
    const { argv, cwd, env } = request;
    const cgroups = request.cgroups ?? [];
    const strings = [cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv, ...cgroups];
    if (argv.length === 0 || strings.some((x) => x.includes('\0'))) {
      handlers.end({ code: null, signal: 0, failure: argv.length === 0 ? 'empty command' : 'arguments and environment cannot contain NUL bytes' });
      return noop;
    }
    const fds = request.fds ?? [];
    if (fds.some((data) => data.length > MAX_FD_DATA)) {
      handlers.end({ code: null, signal: 0, failure: `data for an extra fd is limited to ${MAX_FD_DATA} bytes` });
      return noop;
    }
    const streaming = request.stdin === 'stream';
    const header = Buffer.alloc(28);
    header.writeUInt32BE(Object.keys(env).length, 0);
    header.writeUInt32BE(argv.length, 4);
    header.writeUInt32BE(streaming ? 2 : request.stdin === undefined ? 0 : 1, 8);
    header.writeUInt32BE(request.uid ?? NO_UID, 12);
    header.writeUInt32BE(fds.length, 16);
    header.writeUInt32BE(request.noNewPrivs ? 1 : 0, 20);
    header.writeUInt32BE(cgroups.length, 24);
    const fields = Buffer.from(strings.map((x) => `${x}\0`).join(''), 'utf8');
    const stdin = streaming || request.stdin === undefined ? Buffer.alloc(0) : typeof request.stdin === 'string' ? Buffer.from(request.stdin, 'utf8') : request.stdin;
    this.begin(id, handlers, 'S', Buffer.concat([header, fields, ...fds.flatMap((data) => [u32(data.length), data]), stdin]));
    return {
      kill: (signal = 9) => this.jobs.has(id) && this.send('K', id, u32(signal)),
      write: (data) => {
        for (let at = 0; at < data.length && this.jobs.has(id); at += MAX_FD_DATA) this.send('I', id, data.subarray(at, at + MAX_FD_DATA));
      },
      end: () => this.jobs.has(id) && this.send('C', id, Buffer.alloc(0)),
    };
  }

  /**
   * mount(2) (`M`) or umount2(2) (`U`) done by the supervisor itself: resolves to 0 or the errno
   * (ENOSYS where it does not know the syscall number), or null when the supervisor failed.
   */
  syscall(op: { mount: { source: string; target: string; fstype: string; flags: number; data: string } } | { umount: { target: string; flags: number } }): Promise<number | null> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      const handlers: SpawnHandlers = { end: (end) => resolve(end.failure !== undefined ? null : end.code) };
      if (this.failure !== null) return handlers.end({ code: null, signal: 0, failure: this.failure });
      const fields = 'mount' in op ? [op.mount.source, op.mount.target, op.mount.fstype, op.mount.data] : [op.umount.target];
      if (fields.some((f) => f.includes('\0'))) return resolve(null);
      const flags = u32('mount' in op ? op.mount.flags : op.umount.flags);
      this.begin(id, handlers, 'mount' in op ? 'M' : 'U', Buffer.concat([flags, Buffer.from(fields.join('\0'), 'utf8')]));
    });
  }

  /** A sandbox command: its timeout, abort signal, output caps and result. */
  exec(argv: string[], cwd: string, env: Record<string, string>, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputCapture(maxBytes, options.onStdout);
    const stderr = new OutputCapture(maxBytes, options.onStderr);
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    let handle: SpawnHandle | undefined;
    const killJob = (): void => {
      if (killTimer || !handle) return;
      handle.kill(9);
      // A supervisor that cannot even kill is broken: end it, which ends this exec.
      killTimer = setTimeout(() => this.stop(`the ${this.name} did not kill a command in time`), 5_000);
    };
    const onAbort = (): void => {
      aborted = true;
      killJob();
    };
    let ended = false;
    return new Promise<ExecResult>((resolve) => {
      handle = this.spawn(
        { argv, cwd, env, stdin: options.stdin },
        {
          stdout: (chunk) => stdout.push(chunk),
          stderr: (chunk) => stderr.push(chunk),
          end: (end) => {
            ended = true;
            clearTimeout(timer);
            clearTimeout(killTimer);
            options.signal?.removeEventListener('abort', onAbort);
            stdout.end();
            stderr.end();
            // Disposed under it: the command was killed on purpose.
            if (end.failure !== undefined && this.stopping) aborted = true;
            const killed = timedOut || aborted;
            // Killed by us (timeout, abort): no exit code and the signal, as for any host process.
            // Killed by anything else (the OOM killer, itself): 128 + signal, as a shell reports
            // it and as the other drivers (a bwrap of its own, docker exec) do.
            const bySignal = end.signal !== 0 && !killed;
            resolve({
              exitCode: bySignal ? 128 + end.signal : end.code,
              signal: end.signal && !bySignal ? (SIGNAL_NAMES.get(end.signal) ?? `signal ${end.signal}`) : null,
              timedOut,
              aborted,
              stdout: stdout.text(),
              stderr: stderr.text(),
              truncated: stdout.truncated || stderr.truncated,
              durationMs: Date.now() - started,
              // A command the host killed reports that, not a sandbox error, whoever ended it.
              ...(end.failure !== undefined && !killed ? { sandboxError: end.failure } : {}),
            });
          },
        },
      );
      if (ended) return; // could not even be sent
      timer = setTimeout(() => {
        timedOut = true;
        killJob();
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Kills the supervisor and everything it started; what was in flight ends as killed. */
  stop(reason = 'sandbox disposed'): void {
    this.stopping = true;
    this.options.kill();
    this.fail(reason);
  }

  /** Sends a request whose answer ends with an exit frame; end() is its other half. */
  private begin(id: number, handlers: SpawnHandlers, type: string, body: Buffer): void {
    this.jobs.set(id, handlers);
    if (this.jobs.size === 1) this.options.onBusy?.(true);
    this.send(type, id, body);
  }

  private end(id: number, end: SpawnEnd): void {
    const handlers = this.jobs.get(id);
    if (!handlers) return;
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.options.onBusy?.(false);
    handlers.end(end);
  }

  private fail(reason: string): void {
    if (this.failure === null) this.failure = reason;
    this.markReady(this.failure);
    if (!this.stopping) this.options.kill();
    for (const id of [...this.jobs.keys()]) this.end(id, { code: null, signal: 0, failure: this.failure });
  }

  private send(type: string, id: number, body: Buffer): void {
    if (this.failure !== null || !this.child.stdin?.writable) return;
    const head = Buffer.alloc(9);
    head.writeUInt32BE(5 + body.length, 0);
    head.write(type, 4, 'latin1');
    head.writeUInt32BE(id, 5);
    this.child.stdin.write(Buffer.concat([head, body]));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 4) {
      const len = this.buffer.readUInt32BE(0);
      if (len < 5 || len > MAX_FRAME) return this.fail(`the ${this.name} sent a malformed frame (${len} bytes)`);
      if (this.buffer.length < 4 + len) return;
      const type = String.fromCharCode(this.buffer[4]!);
      const id = this.buffer.readUInt32BE(5);
      const body = this.buffer.subarray(9, 4 + len);
      this.buffer = this.buffer.subarray(4 + len);
      if (type === 'R' && id === 0) {
        this.readyNow = true;
        this.markReady(null);
        continue;
      }
      if (!'OEFX'.includes(type) || (type === 'X' && body.length !== 8)) return this.fail(`the ${this.name} sent an unknown frame (${JSON.stringify(type)})`);
      const handlers = this.jobs.get(id);
      if (!handlers) continue;
      if (type === 'O') handlers.stdout?.(body);
      else if (type === 'E') handlers.stderr?.(body);
      else if (type === 'F') this.end(id, { code: null, signal: 0, failure: body.toString('utf8').slice(0, 1000) || 'the command could not start' });
      else {
        const code = body.readInt32BE(0);
        this.end(id, { code: code >= 0 ? code : null, signal: body.readInt32BE(4) });
      }
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
