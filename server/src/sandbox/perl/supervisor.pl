# The sandbox supervisor: a long-lived process (a sandbox's pid 1, or the server's process launcher
# on the host) that starts processes on request and reports their output and exit. Host end:
# supervisor.ts. Run as `perl -e "$(cat supervisor.pl)" PRCTL SWEEP MOUNT UMOUNT2 DUP3` (syscall
# numbers; 0 where unknown; SWEEP 1 inside a sandbox).
#
# Why Perl: perl-base is part of every Debian system and of the sandbox image (node is not in the
# image), it needs nothing beyond the core language, and it is small. Measured here (2 cores, load
# average ~17): start to ready frame, median of 15, 114 ms for this script vs 647 ms for a node
# process that only writes the ready frame; RSS 6.2 MB vs 41 MB. With no load perl starts in
# ~7.5 ms (30 ms with POSIX, hence no modules).
#
# Protocol, both ways over stdin/stdout: frames of u32be length + payload, the payload being a
# 1-byte type, a u32be command id and a body.
#   host -> supervisor  S spawn: u32 env count, u32 argv count, u32 stdin (0 none, 1 these bytes,
#                        2 these and then I frames until C), u32 uid to become (0xFFFFFFFF:
#                        stay), u32 extra fd count, u32 flags (1: no_new_privs), u32 count of
#                        cgroup.procs files to join first; then cwd, env ("K=V"), argv and
#                        those files, each NUL-terminated; then per extra fd u32 length + data
#                        (fds 3, 4, ...); then the stdin bytes
#                      I more stdin . C end of stdin
#                      K kill:  u32 signal number, sent to the command's process group
#                      M mount: u32 flags; source, target, fstype, data NUL-separated (host only)
#                      U umount2: u32 flags; target
#   supervisor -> host R ready (id 0) . O stdout bytes . E stderr bytes . F could not start: why
#                      X exit: i32 exit code (-1 when signalled), i32 signal number; for M
#                        and U the code is the errno (0: done)
# Every command leads its own process group. When it exits the group is killed, and once no
# command is running every other descendant of the supervisor (a subreaper, so orphans stay its
# descendants; a daemon that called setsid) is killed too: nothing outlives the exec that started
# it, as with one bwrap per exec. The host treats every frame as untrusted: a command runs as the
# same uid and could write some.
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
    exec { $argv[0] } @argv or $fail->("cannot run $argv[0]: $!");
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
