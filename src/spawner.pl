# Kiln's spawner (spawner.ts): starts the processes Kiln asks for and relays their pipes, so that Kiln's main
# thread never forks. A fork+exec from this small process costs well under a millisecond; from Kiln's ~100 MB
# process Node's spawn blocks the main thread 6-16 ms each (page tables copied, the child's exec awaited).
# Perl, as the RUN launcher: Kiln's image has no shell. No modules: POSIX alone would add ~20 ms to a start
# that the build's first RUN probe and launcher wait for; syscalls by number, constants as Linux has them.
# Arguments: ARCH (node's process.arch), KILN_PID.
#
# Requests on stdin (one per line, fields separated by one space, each percent-encoded):
#   spawn ID PIPES DETACHED CWD NENV ENV... ARGV...
#       PIPES: the child's fds among 0-3 that are pipes to Kiln ("013", or "-" for none); fds 0-2 that are not
#       are /dev/null, fd 3 is closed. DETACHED 1: the child gets a session of its own. CWD "-": this one's.
#       NENV entries KEY=VALUE are the child's whole environment; ARGV[0] is looked up in its PATH.
#   launch ID PIPES DETACHED CWD NENV ENV... SCRIPT NAMESPACES ARG...
#       SCRIPT (launcher.pl, overlay-view-holder.pl, isolation-probe.pl, top-dirs.pl) forked from this process
#       in new namespaces, without exec: what `setpriv --pdeathsig KILL -- unshare --NAMESPACE... --fork
#       --kill-child -- perl SCRIPT ARG...` starts. SCRIPT is loaded here once; its value is the sub each child
#       runs, with ARGs. NAMESPACES: a comma-separated subset of mount,pid,ipc,uts,net (empty: none, a plain
#       fork). Answered as spawn is.
#   in ID LEN      then LEN raw bytes for the child's stdin
#   close ID       closes the child's stdin
# Answers on stdout:
#   pid ID PID             the child runs (its exec succeeded)
#   fail ID ERRNO          it could not start (ERRNO: the number, as exec or fork set it)
#   out ID FD LEN          then LEN raw bytes the child wrote to FD
#   eof ID FD              FD reached its end (every process holding it closed it)
#   exit ID CODE SIGNAL    the child exited (CODE -1 when killed by SIGNAL; SIGNAL 0 otherwise)
# It exits once its stdin closes, after serving what it read (its children keep running), or when Kiln dies
# (death signal SIGKILL).
use strict;
use warnings;

my ($arch, $kiln_pid) = @ARGV;
# x86_64's numbers, else the asm-generic table (arm64, riscv64).
my %SYSCALLS = (x64 => { prctl => 157, setsid => 112, dup3 => 292, close => 3, exit_group => 231, unshare => 272, mount => 165 },
  generic => { prctl => 167, setsid => 157, dup3 => 24, close => 57, exit_group => 94, unshare => 97, mount => 40 });
my %CLONE_NEW = (mount => 0x00020000, uts => 0x04000000, ipc => 0x08000000, pid => 0x20000000, net => 0x40000000);
my ($MS_REC, $MS_PRIVATE) = (16384, 1 << 18);
my $sys = $SYSCALLS{ ($arch // '') eq 'x64' ? 'x64' : 'generic' };
my ($EINTR, $EAGAIN, $F_DUPFD, $F_GETFL, $F_SETFL, $O_NONBLOCK, $WNOHANG) = (4, 11, 0, 3, 4, 04000, 1);
# prctl(PR_SET_PDEATHSIG, SIGKILL): this process dies with Kiln; its children die with it (the launcher and
# the helpers set their own death signals), or are left to their own sessions when asked (DETACHED).
syscall($sys->{prctl}, 1, 9);
exit 0 if defined $kiln_pid && getppid() != $kiln_pid;

$SIG{PIPE} = 'IGNORE';
# Fd 3 is held here, so that no other handle of this process is on fds 0-3, where a child's pipes go: a forked
# launcher (launch_forked) can then close every handle it inherits by its perl handle.
open(my $fd3_hold, '<', '/dev/null') or die "spawner: /dev/null: $!";
# SIGCHLD wakes the select loop through a pipe.
pipe(my $wake_r, my $wake_w) or die "spawner: pipe: $!";
nonblocking($wake_r);
nonblocking($wake_w);
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };

my %children;   # ID => { pid, in => handle|undef, outs => { fd => handle }, starting => exec pipe until known }
my %forked_runs;   # SCRIPT => the sub it evaluated to, run in each child forked for it (launch)
my %by_pid;     # PID => ID
my $input = '';
my $stdin_open = 1;
binmode STDIN;
binmode STDOUT;

# Until Kiln closes stdin (or dies): children that still run keep running (a detached one is on its own).
while ($stdin_open) {
  my $rbits = '';
  vec($rbits, fileno(STDIN), 1) = 1 if $stdin_open;
  vec($rbits, fileno($wake_r), 1) = 1;
  for my $child (values %children) {
    vec($rbits, fileno($_), 1) = 1 for values %{ $child->{outs} };
    vec($rbits, fileno($child->{starting}), 1) = 1 if $child->{starting};
  }
  my $ready = select(my $r = $rbits, undef, undef, undef);
  if ($ready < 0) {
    next if $! == $EINTR;
    die "spawner: select: $!";
  }
  if (vec($r, fileno($wake_r), 1)) {
    1 while sysread($wake_r, my $drained, 512);
  }
  for my $id (keys %children) {
    my $starting = $children{$id}{starting};
    confirm_start($id) if $starting && vec($r, fileno($starting), 1);
  }
  reap();
  for my $id (keys %children) {
    my $child = $children{$id};
    for my $fd (sort keys %{ $child->{outs} }) {
      my $handle = $child->{outs}{$fd};
      next unless vec($r, fileno($handle), 1);
      # Kiln hears a child's pid before anything it wrote. What it wrote came after its exec pipe closed, but
      # select() may have looked at that pipe a moment before: the start is known now, read without waiting.
      last if $child->{starting} && !confirm_start($id);
      my $n = sysread($handle, my $data, 65536);
      next if !defined $n && ($! == $EINTR || $! == $EAGAIN);
      if ($n) {
        emit("out $id $fd " . length($data) . "\n" . $data);
      } else {
        close $handle;
        delete $child->{outs}{$fd};
        emit("eof $id $fd\n");
      }
    }
    forget($id);
  }
  if ($stdin_open && vec($r, fileno(STDIN), 1)) {
    my $n = sysread(STDIN, $input, 65536, length $input);
    next if !defined $n && $! == $EINTR;
    $stdin_open = 0 unless $n;
    serve();
  }
}
exit 0;

sub nonblocking {
  my ($handle) = @_;
  my $flags = fcntl($handle, $F_GETFL, 0);
  fcntl($handle, $F_SETFL, $flags | $O_NONBLOCK);
}

sub emit {
  my ($bytes) = @_;
  while (length $bytes) {
    my $n = syswrite(STDOUT, $bytes);
    if (!defined $n) {
      next if $! == $EINTR;
      exit 0;   # Kiln is gone
    }
    substr($bytes, 0, $n) = '';
  }
}

sub decode {
  my ($s) = @_;
  $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
  return $s;
}

# Serves the complete requests in $input.
sub serve {
  while (1) {
    my $end = index($input, "\n");
    return if $end < 0;
    my @fields = map { decode($_) } split / /, substr($input, 0, $end), -1;
    my ($op, $id) = @fields;
    if ($op eq 'in') {
      my $len = $fields[2];
      return if length($input) < $end + 1 + $len;
      my $data = substr($input, $end + 1, $len);
      substr($input, 0, $end + 1 + $len) = '';
      write_input($id, $data);
      next;
    }
    substr($input, 0, $end + 1) = '';
    if ($op eq 'spawn') {
      start($id, undef, @fields[2 .. $#fields]);
    } elsif ($op eq 'launch') {
      start($id, 1, @fields[2 .. $#fields]);
    } elsif ($op eq 'close') {
      my $child = $children{$id};
      if ($child && $child->{in}) {
        close $child->{in};
        $child->{in} = undef;
      }
      forget($id);
    }
  }
}

# Blocking: the child reads its stdin first (a launcher reads it to the end before anything else).
sub write_input {
  my ($id, $data) = @_;
  my $child = $children{$id};
  return unless $child && $child->{in};
  while (length $data) {
    my $n = syswrite($child->{in}, $data);
    if (!defined $n) {
      next if $! == $EINTR;
      return;   # the child is gone (EPIPE): what it did not read is dropped, as with a pipe
    }
    substr($data, 0, $n) = '';
  }
}

# Starts a child: it execs ARGV, or with LAUNCH (ARGV: SCRIPT NAMESPACES ARG...) runs SCRIPT (launch_forked).
sub start {
  my ($id, $launch, $pipes, $detached, $cwd, $nenv, @rest) = @_;
  my @env = splice(@rest, 0, $nenv);
  my @argv = @rest;
  $pipes = '' if $pipes eq '-';
  if ($launch && !forked_run($argv[0])) {
    return emit("fail $id 8\n");   # ENOEXEC
  }
  my (%parent_ends, %child_ends);
  for my $fd (split //, $pipes) {
    my ($read, $write);
    pipe($read, $write) or return emit("fail $id " . ($! + 0) . "\n");
    if ($fd == 0) { ($child_ends{$fd}, $parent_ends{$fd}) = ($read, $write); }
    else { ($parent_ends{$fd}, $child_ends{$fd}) = ($read, $write); }
  }
  pipe(my $exec_r, my $exec_w) or return emit("fail $id " . ($! + 0) . "\n");
  my $pid = fork();
  if (!defined $pid) {
    emit("fail $id " . ($! + 0) . "\n");
    return;
  }
  if ($pid == 0) {
    close $exec_r;
    syscall($sys->{setsid}) if $detached eq '1';
    # Out of the way of fds 0-3 first, then onto them (a pipe end may itself be fd 3).
    my %high = map { $_ => fcntl($child_ends{$_}, $F_DUPFD, 10) } keys %child_ends;
    open(my $null, '+<', '/dev/null');
    for my $fd (0 .. 3) {
      my $from = defined $high{$fd} ? $high{$fd} : $fd < 3 && $null ? fileno($null) : undef;
      if (defined $from) { syscall($sys->{dup3}, $from + 0, $fd, 0); }
      else { syscall($sys->{close}, $fd); }
    }
    syscall($sys->{close}, $_ + 0) for values %high;
    if ($cwd ne '-' && !chdir $cwd) {
      syswrite($exec_w, pack('l', $! + 0));
      syscall($sys->{exit_group}, 127);
    }
    %ENV = map { /\A([^=]*)=(.*)\z/s ? ($1, $2) : () } @env;
    # Signal handlers go with exec; ignored signals (SIGPIPE here) would stay ignored in the child.
    $SIG{$_} = 'DEFAULT' for grep { $_ ne 'KILL' && $_ ne 'STOP' } keys %SIG;
    launch_forked($exec_w, \@argv, values %child_ends, values %parent_ends, $null) if $launch;
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    syswrite($exec_w, pack('l', $! + 0));
    syscall($sys->{exit_group}, 127);
  }
  close $exec_w;
  close $_ for values %child_ends;
  # Not waited for here: the loop answers once the exec pipe says how the start went (confirm_start), and
  # serves other requests meanwhile (a launcher's start, launch_forked, takes a few ms).
  my $in = delete $parent_ends{0};
  $children{$id} = { pid => $pid, in => $in, outs => \%parent_ends, exited => 0, starting => $exec_r };
  $by_pid{$pid} = $id;
}

# Perl opens pipes close-on-exec: EOF on a child's exec pipe means its exec happened (or a launcher runs), 4
# bytes are the errno it failed with. A child that failed to start is forgotten: Kiln hears `fail` only.
sub confirm_start {
  my ($id) = @_;
  my $child = $children{$id};
  my $exec_r = delete $child->{starting};
  my $got;
  1 while !defined(sysread($exec_r, $got, 4)) && $! == $EINTR;
  close $exec_r;
  if (defined $got && length($got) == 4) {
    close $_ for grep { defined } $child->{in}, values %{ $child->{outs} };
    delete $children{$id};
    emit("fail $id " . unpack('l', $got) . "\n");
    return 0;
  }
  emit("pid $id $child->{pid}\n");
  return 1;
}

sub reap {
  while ((my $pid = waitpid(-1, $WNOHANG)) > 0) {
    my $status = $?;
    my $id = delete $by_pid{$pid};
    next unless defined $id && $children{$id};
    next if $children{$id}{starting} && !confirm_start($id);
    my ($code, $signal) = ($status & 127) ? (-1, $status & 127) : ($status >> 8, 0);
    emit("exit $id $code $signal\n");
    $children{$id}{exited} = 1 if $children{$id};
    forget($id);
  }
}

# A child that exited and whose pipes all ended needs nothing more.
sub forget {
  my ($id) = @_;
  my $child = $children{$id};
  return unless $child && $child->{exited} && !%{ $child->{outs} };
  close $child->{in} if $child->{in};
  delete $children{$id};
}

# The sub a forked script evaluates to, loaded once (undef, said on stderr, when it cannot be).
sub forked_run {
  my ($script) = @_;
  $forked_runs{$script} //= do {
    my $run = do $script;
    print STDERR "kiln spawner: cannot load $script: ", ($@ || $! || 'it is not a sub'), "\n" unless ref $run eq 'CODE';
    ref $run eq 'CODE' ? $run : undef;
  };
  return $forked_runs{$script};
}

# In a child of start(), with its fds 0-3 and environment in place: runs SCRIPT in new namespaces without
# exec'ing anything. setpriv, unshare, perl and compiling launcher.pl cost ~25 ms of CPU per RUN step here; a
# fork of this process costs ~1 ms. The same process shape: this process (the pid Kiln knows) dies with the
# spawner (setpriv --pdeathsig KILL), makes the namespaces and forks the child that runs SCRIPT (pid 1 of a new
# pid namespace), which dies with it (unshare --kill-child) and makes every mount private as unshare --mount
# does. This process then waits for it and ends as it did (a signal by the same signal). Failing before SCRIPT
# runs, the errno goes to EXEC_W as an exec's would.
sub launch_forked {
  my ($exec_w, $argv, @own) = @_;
  my ($script, $namespaces, @args) = @$argv;
  close_inherited($exec_w, @own);
  my $fail = sub { syswrite($exec_w, pack('l', $! + 0)); syscall($sys->{exit_group}, 127); };
  syscall($sys->{prctl}, 1, 9);
  my $flags = 0;
  $flags |= $CLONE_NEW{$_} // 0 for split /,/, $namespaces;
  syscall($sys->{unshare}, $flags) == 0 or $fail->();
  my $pid = fork();
  $fail->() unless defined $pid;
  if ($pid == 0) {
    syscall($sys->{prctl}, 1, 9);
    if ($flags & $CLONE_NEW{mount}) {
      my ($source, $target) = ('none', '/');
      syscall($sys->{mount}, $source, $target, 0, $MS_REC | $MS_PRIVATE, 0) == 0 or $fail->();
    }
    close $exec_w;
    $0 = $script;
    eval { $forked_runs{$script}->(@args); 1 } or print STDERR $@;
    syscall($sys->{exit_group}, 255);
  }
  close $exec_w;
  1 while waitpid($pid, 0) == -1 && $! == $EINTR;
  my $status = $?;
  kill($status & 127, $$) if $status & 127;
  syscall($sys->{exit_group}, ($status & 127) ? 128 + ($status & 127) : $status >> 8);
}

# A forked child holds every handle this process has open (other children's pipes among them), which an exec
# would have closed (perl opens them close-on-exec). All go but fds 0-3 and KEEP: by their perl handles (OWN:
# the ones start() made for this child), which are never on fds 0-3 ($fd3_hold), so that none is closed
# twice when the launcher exits; then any fd left, by number.
sub close_inherited {
  my ($keep, @own) = @_;
  for my $child (values %children) {
    close $_ for grep { defined } $child->{in}, $child->{starting}, values %{ $child->{outs} };
  }
  close $_ for grep { defined } $wake_r, $wake_w, @own;
  opendir(my $dir, '/proc/self/fd') or return;
  my @fds = grep { /\A\d+\z/ && $_ > 3 && $_ != fileno($keep) && $_ != fileno($dir) } readdir $dir;
  closedir $dir;
  syscall($sys->{close}, $_ + 0) for @fds;
}
