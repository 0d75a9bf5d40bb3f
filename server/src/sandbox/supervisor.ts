// A long-lived process inside a sandbox that starts the sandbox's commands, so an exec costs a
// fork inside the sandbox (~3 ms) instead of a new bwrap with its namespaces, mounts and seccomp
// filter (~35–45 ms here). It is Perl because perl-base is part of every Debian system and of the
// sandbox image, starts in ~5 ms and uses ~5 MB; it needs nothing beyond the core modules.
//
// Protocol, both ways over the supervisor's stdin/stdout: frames of u32be length + payload, the
// payload being a 1-byte type, a u32be command id and a body.
//   host → supervisor  S spawn: u32 env count, u32 argv count, u32 has-stdin; then cwd, env
//                        ("K=V") and argv, each NUL-terminated; then the stdin bytes
//                      K kill:  u32 signal number, sent to the command's process group
//   supervisor → host  R ready (id 0) · O stdout bytes · E stderr bytes · F could not start: why
//                      X exit: i32 exit code (-1 when signalled), i32 signal number
// Every command leads its own session. When it exits its process group is killed, and once no
// command is running everything else in the sandbox's pid namespace is killed too (a daemon that
// called setsid), so nothing outlives the exec that started it — as with one bwrap per exec.
// The host treats every frame as untrusted: a command runs as the same uid and could write some.
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { OutputCapture, DEFAULT_MAX_OUTPUT_BYTES } from './output';
import { DEFAULT_TIMEOUT_MS } from './processGroup';
import type { ExecOptions, ExecResult } from './types';

export const SUPERVISOR_SCRIPT = String.raw`
use strict; use warnings; use POSIX (); use Fcntl ();
my $host_pidns = shift @ARGV // '';
my $own_pidns = readlink('/proc/self/ns/pid') // '';
# The sweep below kills every other process it can see: only ever inside a pid namespace of its own.
my $may_sweep = $own_pidns ne '' && $own_pidns ne $host_pidns;
$SIG{PIPE} = 'IGNORE';
binmode STDIN; binmode STDOUT;
# Not dumpable: a command (same uid) cannot open /proc/<pid>/fd of the supervisor or ptrace it.
my %prctl = (x86_64 => 157, aarch64 => 167);
my ($arch) = (POSIX::uname())[4];
syscall($prctl{$arch}, 4, 0) if $prctl{$arch};
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
for ($wake_r, $wake_w) { fcntl($_, Fcntl::F_SETFL(), Fcntl::O_NONBLOCK()) }
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };
my (%jobs, %by_pid, $ctl_buf);
$ctl_buf = '';
my $ctl_open = 1;

sub send_frame {
  my ($type, $id, $data) = @_;
  my $payload = pack('a1 N', $type, $id) . ($data // '');
  my $frame = pack('N', length $payload) . $payload;
  while (length $frame) {
    my $n = syswrite(STDOUT, $frame);
    if (!defined $n) { next if $!{EINTR}; POSIX::_exit(0) }
    substr($frame, 0, $n, '');
  }
}

sub spawn_job {
  my ($id, $body) = @_;
  my ($nenv, $nargv, $has_in) = unpack('N N N', $body);
  my ($pos, @f) = (12);
  for (1 .. 1 + $nenv + $nargv) {
    my $end = index($body, "\0", $pos);
    return send_frame('F', $id, 'malformed spawn request') if $end < 0;
    push @f, substr($body, $pos, $end - $pos);
    $pos = $end + 1;
  }
  my $stdin = $has_in ? substr($body, $pos) : undef;
  my $cwd = shift @f;
  my @env = splice(@f, 0, $nenv);
  my @argv = @f;
  return send_frame('F', $id, 'empty command') unless @argv;
  pipe(my $out_r, my $out_w) or return send_frame('F', $id, "pipe: $!");
  pipe(my $err_r, my $err_w) or return send_frame('F', $id, "pipe: $!");
  my ($in_r, $in_w);
  if (defined $stdin) { pipe($in_r, $in_w) or return send_frame('F', $id, "pipe: $!") }
  pipe(my $st_r, my $st_w) or return send_frame('F', $id, "pipe: $!");
  my $pid = fork;
  return send_frame('F', $id, "fork: $!") unless defined $pid;
  if ($pid == 0) {
    $SIG{PIPE} = 'DEFAULT'; $SIG{CHLD} = 'DEFAULT';
    POSIX::setsid();
    my $fail = sub { syswrite($st_w, $_[0]); POSIX::_exit(127) };
    chdir($cwd) or $fail->("cannot chdir to $cwd: $!");
    if ($in_r) { open(STDIN, '<&', $in_r) or $fail->("stdin: $!") }
    else { open(STDIN, '<', '/dev/null') or $fail->("stdin: $!") }
    open(STDOUT, '>&', $out_w) or $fail->("stdout: $!");
    open(STDERR, '>&', $err_w) or $fail->("stderr: $!");
    %ENV = ();
    for (@env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v // '' }
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    $fail->("cannot run $argv[0]: $!");
  }
  close $out_w; close $err_w; close $st_w;
  close $in_r if $in_r;
  my $why = '';
  for (;;) {
    my $n = sysread($st_r, my $chunk, 4096);
    if (!defined $n) { next if $!{EINTR}; last }
    last if $n == 0;
    $why .= $chunk;
  }
  close $st_r;
  if ($why ne '') {
    close $out_r; close $err_r; close $in_w if $in_w;
    $by_pid{$pid} = undef; # reaped without a report
    return send_frame('F', $id, $why);
  }
  for ($out_r, $err_r, $in_w ? $in_w : ()) { fcntl($_, Fcntl::F_SETFL(), Fcntl::O_NONBLOCK()) }
  my $job = { id => $id, pid => $pid, out => $out_r, err => $err_r, in => $in_w, pending => $stdin // '' };
  if ($in_w && $job->{pending} eq '') { close $in_w; $job->{in} = undef }
  $jobs{$id} = $job;
  $by_pid{$pid} = $job;
}

sub running { grep { !defined $_->{status} } values %jobs }

sub sweep {
  return unless $may_sweep;
  opendir(my $d, '/proc') or return;
  for my $p (grep { /^\d+$/ } readdir $d) { kill('KILL', $p) unless $p == $$ || $p == 1 }
  closedir $d;
}

sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
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
    elsif ($type eq 'K') {
      my $job = $jobs{$id};
      kill(unpack('N', $body), -$job->{pid}) if $job && !defined $job->{status};
    }
  }
}

send_frame('R', 0, '');
for (;;) {
  my ($rin, $win) = ('', '');
  vec($rin, fileno(STDIN), 1) = 1 if $ctl_open;
  vec($rin, fileno($wake_r), 1) = 1;
  my $draining = 0;
  for my $job (values %jobs) {
    vec($rin, fileno($job->{$_}), 1) = 1 for grep { $job->{$_} } qw(out err);
    vec($win, fileno($job->{in}), 1) = 1 if $job->{in};
    $draining = 1 if defined $job->{status};
  }
  my $n = select(my $rout = $rin, my $wout = $win, undef, $draining ? 0.1 : undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!" }
  if ($n > 0 && vec($rout, fileno($wake_r), 1)) { 1 while sysread($wake_r, my $x, 64) }
  reap();
  if ($ctl_open && $n > 0 && vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, $ctl_buf, 1 << 16, length $ctl_buf);
    if (defined $got && $got == 0) {
      # The server closed the channel: end every command and leave.
      kill('KILL', -$_->{pid}) for running();
      sweep();
      POSIX::_exit(0);
    }
    handle_frames() if $got;
  }
  for my $job (values %jobs) {
    for my $key (qw(out err)) {
      my $fh = $job->{$key};
      next unless $fh && $n > 0 && vec($rout, fileno($fh), 1);
      my $got = sysread($fh, my $chunk, 1 << 16);
      next if !defined $got && ($!{EINTR} || $!{EAGAIN});
      if (!$got) { close_job_fd($job, $key); next }
      send_frame($key eq 'out' ? 'O' : 'E', $job->{id}, $chunk);
    }
    my $in = $job->{in};
    if ($in && $n > 0 && vec($wout, fileno($in), 1)) {
      my $put = syswrite($in, $job->{pending});
      if (defined $put) { substr($job->{pending}, 0, $put, '') }
      elsif (!$!{EINTR} && !$!{EAGAIN}) { $job->{pending} = '' }
      close_job_fd($job, 'in') if $job->{pending} eq '';
    }
  }
  finish_done();
}
`;

/** Largest frame the host accepts: the supervisor sends output in chunks of at most 64 KiB. */
const MAX_FRAME = 1 << 20;

interface Job {
  stdout: OutputCapture;
  stderr: OutputCapture;
  started: number;
  timedOut: boolean;
  aborted: boolean;
  done: (result: ExecResult) => void;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

/**
 * The host end of one supervisor: framing, the commands in flight and how each ends. The caller
 * starts the process (inside the sandbox) and hands it over; `exited` is how the caller learns
 * that it died, after which every exec in flight has settled as a sandbox error.
 */
export class SupervisorClient {
  readonly ready: Promise<string | null>;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private stderr = '';
  private failure: string | null = null;
  private markReady!: (failure: string | null) => void;
  private stopping = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly kill: () => void,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    child.stdin?.on('error', () => {});
    child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (err) => this.fail(`could not start the sandbox: ${err.message}`));
    child.on('exit', (code, signal) => {
      const why = this.stderr.trim() || `exit ${code ?? signal}`;
      this.fail(`the sandbox stopped (${why})`);
    });
  }

  /** Dead: a new exec needs a new supervisor. */
  get dead(): boolean {
    return this.failure !== null;
  }

  exec(argv: string[], cwd: string, env: Record<string, string>, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const id = this.nextId++;
    return new Promise<ExecResult>((resolve) => {
      let killedAt = 0;
      const job: Job = {
        stdout: new OutputCapture(maxBytes, options.onStdout),
        stderr: new OutputCapture(maxBytes, options.onStderr),
        started,
        timedOut: false,
        aborted: false,
        done: (result) => {
          clearTimeout(timer);
          clearTimeout(killTimer);
          options.signal?.removeEventListener('abort', onAbort);
          this.jobs.delete(id);
          resolve(result);
        },
      };
      let killTimer: NodeJS.Timeout | undefined;
      const killJob = (): void => {
        if (killedAt) return;
        killedAt = Date.now();
        this.send('K', id, u32(9));
        // A supervisor that cannot even kill is broken: end it, which settles this exec.
        killTimer = setTimeout(() => this.stop('the sandbox did not kill a command in time'), 5_000);
      };
      const onAbort = (): void => {
        job.aborted = true;
        killJob();
      };
      const timer = setTimeout(() => {
        job.timedOut = true;
        killJob();
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.jobs.set(id, job);
      if (this.failure !== null) return this.settle(id, job, { sandboxError: this.failure });
      const strings = [cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
      if (strings.some((s) => s.includes('\0'))) return this.settle(id, job, { sandboxError: 'arguments and environment cannot contain NUL bytes' });
      const header = Buffer.alloc(12);
      header.writeUInt32BE(Object.keys(env).length, 0);
      header.writeUInt32BE(argv.length, 4);
      header.writeUInt32BE(options.stdin === undefined ? 0 : 1, 8);
      const fields = Buffer.from(strings.map((s) => `${s}\0`).join(''), 'utf8');
      this.send('S', id, Buffer.concat([header, fields, Buffer.from(options.stdin ?? '', 'utf8')]));
    });
  }

  /** Kills the supervisor and everything in the sandbox; execs in flight settle as aborted. */
  stop(reason = 'sandbox disposed'): void {
    this.stopping = true;
    for (const job of this.jobs.values()) job.aborted = true;
    this.kill();
    this.fail(reason);
  }

  private settle(id: number, job: Job, fields: { exitCode?: number | null; signal?: string | null; sandboxError?: string }): void {
    if (!this.jobs.has(id)) return;
    job.stdout.end();
    job.stderr.end();
    // A command the host killed reports that, not a sandbox error, whoever ended it.
    const sandboxError = job.aborted || job.timedOut ? undefined : fields.sandboxError;
    job.done({
      exitCode: fields.exitCode ?? null,
      signal: fields.signal ?? null,
      timedOut: job.timedOut,
      aborted: job.aborted,
      stdout: job.stdout.text(),
      stderr: job.stderr.text(),
      truncated: job.stdout.truncated || job.stderr.truncated,
      durationMs: Date.now() - job.started,
      ...(sandboxError !== undefined ? { sandboxError } : {}),
    });
  }

  private fail(reason: string): void {
    if (this.failure === null) this.failure = reason;
    this.markReady(this.failure);
    if (!this.stopping) this.kill();
    for (const [id, job] of [...this.jobs]) this.settle(id, job, { sandboxError: this.failure });
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
      if (len < 5 || len > MAX_FRAME) return this.fail(`the sandbox sent a malformed frame (${len} bytes)`);
      if (this.buffer.length < 4 + len) return;
      const type = String.fromCharCode(this.buffer[4]!);
      const id = this.buffer.readUInt32BE(5);
      const body = this.buffer.subarray(9, 4 + len);
      this.buffer = this.buffer.subarray(4 + len);
      if (type === 'R' && id === 0) {
        this.markReady(null);
        continue;
      }
      if (!'OEFX'.includes(type) || (type === 'X' && body.length !== 8)) return this.fail(`the sandbox sent an unknown frame (${JSON.stringify(type)})`);
      const job = this.jobs.get(id);
      if (!job) continue;
      if (type === 'O') job.stdout.push(body);
      else if (type === 'E') job.stderr.push(body);
      else if (type === 'F') this.settle(id, job, { sandboxError: body.toString('utf8').slice(0, 1000) || 'the command could not start' });
      else {
        const code = body.readInt32BE(0);
        const signal = body.readInt32BE(4);
        // Killed by us (timeout, abort): no exit code and the signal, as for any host process.
        // Killed by anything else (the OOM killer, itself): 128 + signal, as a shell reports it
        // and as the other drivers (a bwrap of its own, docker exec) do.
        if (signal && !job.timedOut && !job.aborted) this.settle(id, job, { exitCode: 128 + signal });
        else this.settle(id, job, { exitCode: code >= 0 ? code : null, signal: signal ? (SIGNAL_NAMES.get(signal) ?? `signal ${signal}`) : null });
      }
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
