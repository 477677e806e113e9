# Kiln's RUN-step launcher. Node can neither mount, chroot nor change credentials, so Kiln starts this
# script (perl-base is Essential on Debian, so it is always there) with the path of a plan file written by
# launch-plan.ts on its stdin. Only core built-ins are used: POSIX and Socket alone would add ~20 ms per step, so the
# few syscalls needed are called by number.
#
# Process shape. Namespace and userns modes: this script is pid 1 of the step's namespaces and prepares the
# root. A step as root: it then drops capabilities and execve()s the command, which stays pid 1 (as runc runs
# a container's process: BuildKit's RUN sees $$ = 1); its exit kills every process left in the namespace and
# unmounts all. A step as another user, and chroot and none modes: this script stays as the parent (a child
# subreaper outside namespaces), forks the step process, which enters the root, drops to the step's user and
# execve()s the command, reaps everything and exits with the step's status.
#
# Fd 3 is the status channel to Kiln: NUL-separated records (name, argument count, arguments): `plan`
# once the plan is read, `stub KIND PATH` for each mount point created in the root, `error CODE MESSAGE`
# before giving up.
#
# Run as a script (`perl launcher.pl`), or loaded once by the spawner, which forks a launcher from itself for
# each namespaced step and calls run() there (spawner.pl, `launch`).
package KilnLauncher;
use strict;
use warnings;

my %SYSCALLS = (
  x64   => { mount => 165, execve => 59, prctl => 157, sethostname => 170, mknodat => 259,
             setgroups => 116, setresuid => 117, setresgid => 119, statfs => 137, umount2 => 166,
             pivot_root => 155, capget => 125, capset => 126 },
  # The asm-generic table (arm64, riscv64, loong64).
  generic => { mount => 40, execve => 221, prctl => 167, sethostname => 161, mknodat => 33,
               setgroups => 159, setresuid => 147, setresgid => 149, statfs => 43, umount2 => 39,
               pivot_root => 41, capget => 90, capset => 91 },
);
my ($MS_RDONLY, $MS_NOSUID, $MS_NODEV, $MS_NOEXEC, $MS_REMOUNT, $MS_BIND, $MS_REC) =
  (1, 2, 4, 8, 32, 4096, 16384);
my ($O_WRONLY, $O_CREAT, $O_EXCL) = (01, 0100, 0200);
my ($PR_SET_PDEATHSIG, $PR_SET_CHILD_SUBREAPER) = (1, 36);
my $AT_FDCWD = -100;
my $MNT_DETACH = 2;
my %DEVICES = (null => [1, 3], zero => [1, 5], full => [1, 7], random => [1, 8], urandom => [1, 9], tty => [5, 0]);
# runc's defaults (moby's oci.DefaultSpec): these /proc and /sys paths are hidden or read-only, so a step
# cannot read kernel memory and keys or change kernel settings through /proc/sys.
my @MASKED_PATHS = qw(/proc/asound /proc/acpi /proc/kcore /proc/keys /proc/latency_stats /proc/timer_list
  /proc/timer_stats /proc/sched_debug /proc/scsi /sys/firmware /sys/devices/virtual/powercap);
my @READONLY_PATHS = qw(/proc/bus /proc/fs /proc/irq /proc/sys /proc/sysrq-trigger);
# Docker's default capability set (moby's oci/caps/defaults.go). Everything else leaves the bounding set, so
# not even a setuid binary or file capability brings it back; CAP_SYS_ADMIN is gone, so `mount` fails.
my @DOCKER_CAPS = (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31);   # chown dac_override fowner fsetid kill
  # setgid setuid setpcap net_bind_service net_raw sys_chroot mknod audit_write setfcap
my $EXIT_LAUNCH_FAILED = 125;

my ($status_fh, $sys, @inputs, $input_data, %plan, $mode);

sub run {
  (my $plan_path, $input_data) = read_stdin();
  %plan = read_plan($plan_path);
  open_status_channel();
  # The plan is read: from here on this launcher runs the step (Kiln retries a spare that died before this).
  report('plan', 0);
  $sys = $SYSCALLS{ first('arch') eq 'x64' ? 'x64' : 'generic' };
  $mode = first('mode');
  main();
}

sub main {
  @inputs = parse_inputs($input_data);
  my $env = [ @{ $plan{env}[0] } ];
  push @$env, map { "$_->[0]=" . secret_value($_->[1], $_->[2]) } @{ $plan{secretenv} || [] };
  if (namespaced()) {
    prepare_namespace_root();
    # A step as root is pid 1 of its namespaces itself, as runc runs a container's process (BuildKit's RUN
    # sees $$ = 1): no fork (~3-5 ms here), no reaper to wait for. Its exit ends the pid namespace, every
    # process left in it killed; its status is unshare's (a death by signal too: unshare dies of the same).
    # A step as another user keeps this launcher as its parent: pid 1's death signal (unshare --kill-child,
    # how the step dies with Kiln) is cleared when pid 1's uid or gid changes, and a dying unshare without
    # CAP_KILL could not deliver it to another user's process anyway.
    my $user = [ resolve_user(first('user')) ];
    enter_step($env, [], $user) if $user->[0] == 0 && $user->[1] == 0;
  } else {
    guard_parent();
  }
  my $host_files = $mode eq 'chroot' ? read_host_files() : [];
  my $child = fork;
  fail('RUN_LAUNCH', "fork: $!") unless defined $child;
  enter_step($env, $host_files) if $child == 0;
  wait_for_step($child);
}

# ---------------------------------------------------------------------------------------------------------
# Plan and status channel

sub read_plan {
  my ($path) = @_;
  my $data = read_file($path, 'plan');
  my @tokens = split /\0/, $data, -1;
  pop @tokens;                                   # the final terminator
  my %records;
  while (@tokens) {
    my $name = shift @tokens;
    my $count = shift @tokens;
    push @{ $records{$name} }, [ splice @tokens, 0, $count ];
  }
  return %records;
}

sub first { my ($name) = @_; return $plan{$name} ? $plan{$name}[0][0] : undef; }

# Secret values Kiln passes in memory (`--secret env=`): stdin holds each as "LENGTH\n" and its bytes. Read
# to the end, then stdin becomes /dev/null for the step, as it was before.
# A secret's value: the in-memory input `index`, or the content of the host file `source`.
sub secret_value {
  my ($source, $index) = @_;
  return defined $index && $index ne '' ? $inputs[$index] : read_file($source, 'secret');
}

# The launcher waits (a spare started ahead of its step, step-process.ts, waits here in its namespaces) for
# its stdin, written at once by Kiln: the plan's path on the first line, then the inputs (secret values).
sub read_stdin {
  binmode STDIN;
  my $data = do { local $/; <STDIN> };
  open(STDIN, '<', '/dev/null') or die "kiln launcher: reopen stdin: $!\n";
  $data = '' unless defined $data;
  $data =~ s/\A([^\n]*)\n//s or die "kiln launcher: no plan path on stdin\n";
  return ($1, $data);
}

sub parse_inputs {
  my ($data) = @_;
  my @values;
  while ($data =~ /\G(\d+)\n/gc) {
    my $start = pos($data);
    push @values, substr($data, $start, $1);
    pos($data) = $start + $1;
  }
  return @values;
}

sub open_status_channel {
  open($status_fh, '>&=', 3) or die "kiln launcher: no status fd 3: $!\n";
  fcntl($status_fh, 2, 1);                       # F_SETFD FD_CLOEXEC: the step never sees it
  select((select($status_fh), $| = 1)[0]);
}

sub report { my (@fields) = @_; print $status_fh join("\0", @fields) . "\0"; }

sub fail {
  my ($code, $message) = @_;
  report('error', 2, $code, $message);
  exit $EXIT_LAUNCH_FAILED;
}

sub read_file {
  my ($path, $what) = @_;
  open(my $fh, '<:raw', $path) or fail('RUN_LAUNCH', "cannot read $what $path: $!");
  local $/;
  my $data = <$fh>;
  close $fh;
  return defined $data ? $data : '';
}

# ---------------------------------------------------------------------------------------------------------
# Syscalls by number. Strings are passed as fresh copies: syscall() needs writable buffers and would pass
# a string that was ever used as a number by value.

sub call {
  my ($name, @args) = @_;
  my @copies = map { ref $_ ? ${$_} : "$_" } @args;
  return syscall($sys->{$name}, @copies);
}

sub num { my ($n) = @_; return \(0 + $n); }

sub mount_fs {
  my ($source, $target, $type, $flags, $data) = @_;
  my $rc = call('mount', $source, $target, $type, num($flags), defined $data ? $data : num(0));
  fail('RUN_MOUNT', "mount $type on $target: $!") if $rc != 0;
}

sub bind_mount {
  my ($source, $target, $read_only, $extra_flags) = @_;
  $extra_flags ||= 0;
  my $rc = call('mount', $source, $target, num(0), num($MS_BIND | $MS_REC), num(0));
  fail('RUN_MOUNT', "bind $source on $target: $!") if $rc != 0;
  return unless $read_only || $extra_flags;
  my $flags = $MS_REMOUNT | $MS_BIND | $extra_flags | ($read_only ? $MS_RDONLY : 0) | mount_flags($target);
  $rc = call('mount', num(0), $target, num(0), num($flags), num(0));
  fail('RUN_MOUNT', "remount $target read-only: $!") if $rc != 0;
}

# The flags of the mount at `path` (statfs f_flags as MS_* bits). A remount must repeat them: in a user
# namespace the flags of a mount inherited from the host (nosuid, nodev, noexec, atime) are locked, and a
# remount that would clear one fails with EPERM.
sub mount_flags {
  my ($path) = @_;
  my $buf = "\0" x 120;
  return 0 if syscall($sys->{statfs}, "$path", $buf) != 0;
  my $st = unpack('x80 Q', $buf);          # f_flags: same offset in x86_64's and the generic 64-bit layout
  my $flags = $st & ($MS_RDONLY | $MS_NOSUID | $MS_NODEV | $MS_NOEXEC | 1024 | 2048);   # + NOATIME, NODIRATIME
  $flags |= 1 << 21 if $st & 4096;         # ST_RELATIME → MS_RELATIME
  return $flags;
}

# ---------------------------------------------------------------------------------------------------------
# Paths inside the root: resolved as if the root were '/', so an image's symlinks never lead a mount point
# (or a stub created for one) out of it.

sub resolve_in_root {
  my ($root, $path) = @_;
  my @todo = grep { $_ ne '' && $_ ne '.' } split m{/}, $path;
  my @done;
  my $links = 0;
  while (@todo) {
    my $part = shift @todo;
    if ($part eq '..') { pop @done; next; }
    my $host = join('/', $root, @done, $part);
    if (-l $host) {
      fail('RUN_MOUNT', "too many symlinks resolving $path") if ++$links > 255;
      my $target = readlink $host;
      @done = () if $target =~ m{^/};
      unshift @todo, grep { $_ ne '' && $_ ne '.' } split m{/}, $target;
      next;
    }
    push @done, $part;
  }
  return '/' . join('/', @done);
}

# Create what is missing of `path` (resolved, inside root): parent dirs, then the mount point itself as a
# `dir` or empty `file`. Every created path is reported as a stub. Returns the host path.
sub ensure_mount_point {
  my ($root, $path, $kind) = @_;
  my $inside = resolve_in_root($root, $path);
  my @parts = grep { $_ ne '' } split m{/}, $inside;
  my $sofar = '';
  for my $i (0 .. $#parts) {
    $sofar .= "/$parts[$i]";
    next if -e "$root$sofar" || -l "$root$sofar";
    if ($i < $#parts || $kind eq 'dir') {
      mkdir("$root$sofar", 0755) or fail('RUN_MOUNT', "cannot create mount point $sofar: $!");
      report('stub', 2, 'dir', $sofar);
    } else {
      sysopen(my $fh, "$root$sofar", $O_WRONLY | $O_CREAT | $O_EXCL, 0644)
        or fail('RUN_MOUNT', "cannot create mount point $sofar: $!");
      close $fh;
      report('stub', 2, 'file', $sofar);
    }
  }
  return "$root$inside";
}

# ---------------------------------------------------------------------------------------------------------
# Namespace mode: the root is assembled at <scratch>/merged inside this private mount namespace.

sub prepare_namespace_root {
  my $scratch = first('scratch');
  mount_fs('kiln-step', $scratch, 'tmpfs', $MS_NOSUID | $MS_NODEV, 'mode=0700');
  my $root = "$scratch/merged";
  mkdir($root, 0755) or fail('RUN_MOUNT', "mkdir $root: $!");
  mount_root($root, $plan{root}[0]);
  bring_up_loopback() if $plan{netnone};
  set_hostname(first('hostname')) if $plan{hostname};
  mount_system_dirs($root, $scratch);
  mkdir("$scratch/files", 0700);
  my $n = 0;
  for my $file (@{ $plan{file} || [] }) {
    my ($target, $source) = @$file;
    my $copy = "$scratch/files/" . $n++;
    write_file($copy, read_file($source, 'host file'), 0644, 0, 0);
    bind_mount($copy, ensure_mount_point($root, $target, 'file'), 0);
  }
  for my $mount (@{ $plan{mount} || [] }) {
    apply_run_mount($root, $scratch, $n++, @$mount);
  }
  protect_kernel_paths($root);
  pivot_into($root);
}


sub protect_kernel_paths {
  my ($root) = @_;
  for my $path (@MASKED_PATHS) {
    my $host = "$root$path";
    next if -l $host || !-e _;
    if (-d _) {
      mount_fs('tmpfs', $host, 'tmpfs', $MS_RDONLY | $MS_NOSUID | $MS_NODEV | $MS_NOEXEC, 'size=0');
    } else {
      bind_mount("$root/dev/null", $host, 0);
    }
  }
  for my $path (@READONLY_PATHS) {
    my $host = "$root$path";
    next if -l $host || !-e _;
    bind_mount($host, $host, 1, $MS_NOSUID | $MS_NODEV | $MS_NOEXEC);
  }
}

# pivot_root, as runc does, rather than chroot: the host's root is unmounted from this namespace, so no
# path (not /proc/1/root, not a second chroot) leads back to it. The old root is stacked on the new one by
# pivot_root(".", ".") and detached at once.
sub pivot_into {
  my ($root) = @_;
  chdir($root) or fail('RUN_LAUNCH', "chdir $root: $!");
  call('pivot_root', '.', '.') == 0 or fail('RUN_LAUNCH', "pivot_root into $root: $!");
  call('umount2', '.', num($MNT_DETACH)) == 0 or fail('RUN_LAUNCH', "detach the old root: $!");
  chdir('/') or fail('RUN_LAUNCH', "chdir /: $!");
}

sub mount_root {
  my ($root, $spec) = @_;
  my ($kind, @rest) = @$spec;
  # nodev everywhere the step can write: with CAP_MKNOD (Docker's set) it may create device nodes, which land
  # in the layer as in docker build, but opening one fails (docker's device cgroup does the same).
  if ($kind eq 'dir') {
    bind_mount($rest[0], $root, 0, $MS_NODEV);
    return;
  }
  my ($base, $upper, $work, @lower) = @rest;
  # Relative layer paths keep long lower lists under the one-page limit of mount options.
  chdir($base) or fail('RUN_MOUNT', "chdir $base: $!") if $base ne '';
  # In a user namespace overlayfs keeps its whiteout/opaque marks in user.overlay.* xattrs (kernel ≥ 5.11).
  my $data = 'lowerdir=' . join(':', @lower) . ",upperdir=$upper,workdir=$work" . ($mode eq 'userns' ? ',userxattr' : '');
  # volatile (kernel ≥ 5.10): no sync of the upper filesystem when the step's namespace unmounts the overlay,
  # which otherwise waits for every dirty page of that filesystem (~0.15–0.3 s after writing 200 MB). The
  # upper dir is the build's scratch, never needed after a crash; older kernels refuse the option (EINVAL).
  # A work dir used before by a volatile mount carries overlayfs's marker, which refuses the next mount; after a
  # clean unmount the upper dir is consistent, so the marker goes.
  unlink("$work/work/incompat/volatile/dirty") and rmdir("$work/work/incompat/volatile") and rmdir("$work/work/incompat");
  if (call('mount', 'overlay', $root, 'overlay', num($MS_NODEV), "$data,volatile") != 0) {
    fail('RUN_MOUNT', "mount overlay on $root: $!") unless $!{EINVAL};
    mount_fs('overlay', $root, 'overlay', $MS_NODEV, $data);
  }
  chdir('/');
}

sub mount_system_dirs {
  my ($root, $scratch) = @_;
  my $proc = ensure_mount_point($root, '/proc', 'dir');
  my $sys_dir = ensure_mount_point($root, '/sys', 'dir');
  my $flags = $MS_NOSUID | $MS_NODEV | $MS_NOEXEC;
  if (!try_mount('proc', $proc, 'proc', $flags)) {
    # A user namespace may mount proc only where the container's own /proc is fully visible; runtimes mask
    # parts of it (docker's /proc/kcore …), so, as crun does, the container's /proc is bound instead. It shows
    # the container's processes; those outside this namespace stay out of reach (no CAP_SYS_PTRACE there).
    fail('RUN_MOUNT', "mount proc on $proc: $!") unless $mode eq 'userns';
    bind_mount('/proc', $proc, 0);
  }
  if (!try_mount('sysfs', $sys_dir, 'sysfs', $MS_RDONLY | $flags)) {
    # sysfs needs a network namespace owned by the user namespace; the container's /sys, read-only, instead.
    fail('RUN_MOUNT', "mount sysfs on $sys_dir: $!") unless $mode eq 'userns';
    bind_mount('/sys', $sys_dir, 1);
  }
  mount_dev($root, $scratch);
}

sub try_mount {
  my ($source, $target, $type, $flags, $data) = @_;
  return call('mount', $source, $target, $type, num($flags), defined $data ? $data : num(0)) == 0;
}

# The step's own /dev, as runc makes it: fresh device nodes, so `chmod 0600 /dev/null` changes this
# namespace's node only. The nodes are made on a tmpfs of their own (only reachable before pivot_root) and
# bound one by one into /dev, itself a nodev tmpfs: a node the step makes there cannot be opened. Where mknod
# is refused (a user namespace: its tmpfs would not honour device nodes anyway) the host's node is bound
# read-only: reads and writes reach the device, but chmod, chown and utimes fail with EROFS instead of
# changing the host's node.
sub mount_dev {
  my ($root, $scratch) = @_;
  my $dev = ensure_mount_point($root, '/dev', 'dir');
  mount_fs('tmpfs', $dev, 'tmpfs', $MS_NOSUID | $MS_NODEV, 'mode=0755,size=65536k');
  my $nodes = "$scratch/devices";
  mkdir($nodes, 0755) or fail('RUN_MOUNT', "mkdir $nodes: $!");
  mount_fs('kiln-devices', $nodes, 'tmpfs', $MS_NOSUID | $MS_NOEXEC, 'mode=0755,size=64k') if $mode eq 'namespace';
  for my $node (sort keys %DEVICES) {
    my ($major, $minor) = @{ $DEVICES{$node} };
    write_file("$dev/$node", '', 0666, 0, 0);
    if ($mode eq 'namespace' && make_device("$nodes/$node", $major, $minor)) {
      bind_mount("$nodes/$node", "$dev/$node", 0);
    } else {
      bind_mount("/dev/$node", "$dev/$node", 1);
    }
  }
  mkdir("$dev/pts", 0755);
  mount_fs('devpts', "$dev/pts", 'devpts', $MS_NOSUID | $MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  symlink('pts/ptmx', "$dev/ptmx");
  mkdir("$dev/shm", 01777);
  mount_fs('shm', "$dev/shm", 'tmpfs', $MS_NOSUID | $MS_NODEV | $MS_NOEXEC, 'mode=1777,size=65536k');
  symlink('/proc/self/fd', "$dev/fd");
  symlink("/proc/self/fd/$_->[1]", "$dev/$_->[0]") for ([stdin => 0], [stdout => 1], [stderr => 2]);
}

sub apply_run_mount {
  my ($root, $scratch, $n, $type, $source, $target, $read_only, $size, $mode, $uid, $gid, $input) = @_;
  if ($type eq 'tmpfs') {
    my $data = 'mode=1777' . ($size ne '' ? ",size=$size" : '');
    mount_fs('tmpfs', ensure_mount_point($root, $target, 'dir'), 'tmpfs', $MS_NOSUID | $MS_NODEV, $data);
    return;
  }
  if ($type eq 'secret') {
    # A copy on this namespace's tmpfs carries the requested owner and mode; the host file stays as it is.
    my $copy = "$scratch/files/$n";
    write_file($copy, secret_value($source, $input), $mode ne '' ? oct($mode) : 0400,
      $uid ne '' ? $uid : 0, $gid ne '' ? $gid : 0);
    bind_mount($copy, ensure_mount_point($root, $target, 'file'), 1, $MS_NOSUID | $MS_NODEV | $MS_NOEXEC);
    return;
  }
  # bind, cache, ssh: the host path itself.
  fail('RUN_MOUNT', "mount source $source does not exist") unless -e $source;
  my $kind = -d $source ? 'dir' : 'file';
  my $point = ensure_mount_point($root, $target, $kind);
  if ($type eq 'bind' && $read_only ne '1') {
    writable_copy_mount($source, $point, $kind, "$scratch/bind-$n");
    return;
  }
  bind_mount($source, $point, $read_only eq '1', $MS_NODEV);
}

# A read-write bind as BuildKit has it: the step may write, the writes are discarded with the step and never
# reach the source (the context, another stage's rootfs). A dir gets an overlay whose upper dir is on this
# namespace's tmpfs (the source bound first, so its path needs no escaping in the options); a file, a copy.
sub writable_copy_mount {
  my ($source, $point, $kind, $dir) = @_;
  mkdir($dir, 0700) or fail('RUN_MOUNT', "mkdir $dir: $!");
  if ($kind eq 'file') {
    my @st = stat $source;
    write_file("$dir/file", read_file($source, 'bind source'), $st[2] & 07777, $st[4], $st[5]);
    bind_mount("$dir/file", $point, 0);
    return;
  }
  mkdir("$dir/$_", 0700) or fail('RUN_MOUNT', "mkdir $dir/$_: $!") for qw(lower upper work);
  bind_mount($source, "$dir/lower", 1);
  chdir($dir) or fail('RUN_MOUNT', "chdir $dir: $!");
  mount_fs('overlay', $point, 'overlay', $MS_NODEV,
    'lowerdir=lower,upperdir=upper,workdir=work' . ($mode eq 'userns' ? ',userxattr' : ''));
  chdir('/');
}

# A fresh character device node, mode 0666; false (with $!) when mknod is not allowed.
sub make_device {
  my ($path, $major, $minor) = @_;
  my $rc = call('mknodat', num($AT_FDCWD), $path, num(0020000 | 0666), num(($major << 8) | $minor));
  return 0 if $rc != 0;
  chmod(0666, $path);
  return 1;
}

sub write_file {
  my ($path, $data, $mode, $uid, $gid) = @_;
  open(my $fh, '>:raw', $path) or fail('RUN_MOUNT', "cannot write $path: $!");
  print $fh $data;
  close $fh;
  chown($uid, $gid, $path);
  chmod($mode, $path);
}

sub bring_up_loopback {
  # A new network namespace has `lo` down; BuildKit's `none` network has it up.
  socket(my $sock, 2, 2, 0) or fail('RUN_NETWORK', "socket: $!");   # AF_INET, SOCK_DGRAM
  my $ifreq = pack('a16 s x22', 'lo', 0);
  ioctl($sock, 0x8913, $ifreq) or fail('RUN_NETWORK', "SIOCGIFFLAGS lo: $!");
  my $flags = unpack('x16 s', $ifreq) | 0x1 | 0x40;                # IFF_UP | IFF_RUNNING
  $ifreq = pack('a16 s x22', 'lo', $flags);
  ioctl($sock, 0x8914, $ifreq) or fail('RUN_NETWORK', "SIOCSIFFLAGS lo: $!");
  close $sock;
}

sub set_hostname {
  my ($file) = @_;
  my ($name) = split /\n/, read_file($file, 'hostname file');
  return unless defined $name && $name ne '';
  call('sethostname', $name, num(length $name)) == 0 or fail('RUN_LAUNCH', "sethostname: $!");
}

# ---------------------------------------------------------------------------------------------------------
# chroot and none modes: no namespaces, so the parent must notice Kiln's death itself and take the step's
# processes down, including those that left the process group (they are re-parented to us, a subreaper).

sub guard_parent {
  call('prctl', num($PR_SET_CHILD_SUBREAPER), num(1), num(0), num(0), num(0));
  call('prctl', num($PR_SET_PDEATHSIG), num(15), num(0), num(0), num(0));
  $SIG{TERM} = sub { kill_descendants(); exit 143; };
  kill_descendants(), exit 143 if getppid() != first('parentpid');
}

sub kill_descendants {
  for (1 .. 100) {
    my @children = child_pids($$);
    return unless @children;
    my @all = @children;
    for (my $i = 0; $i < @all; $i++) { push @all, child_pids($all[$i]); }
    kill 'KILL', @all;
    1 while waitpid(-1, 1) > 0;                   # WNOHANG
    select(undef, undef, undef, 0.01);
  }
}

sub child_pids {
  my ($pid) = @_;
  my @pids;
  opendir(my $dh, "/proc/$pid/task") or return ();
  for my $tid (grep { /^\d+$/ } readdir $dh) {
    open(my $fh, '<', "/proc/$pid/task/$tid/children") or next;
    push @pids, split ' ', (<$fh> // '');
  }
  return @pids;
}

sub read_host_files {
  return [ map { [ $_->[0], read_file($_->[1], 'host file') ] } @{ $plan{file} || [] } ];
}

# chroot mode has no /dev of its own to mount: create the device nodes that shells and package managers
# need, and copy the host files in, where the image has none. All are stubs removed after the step.
sub populate_chroot {
  my ($host_files) = @_;
  ensure_mount_point('', '/dev', 'dir');
  for my $name (sort keys %DEVICES) {
    next if -e "/dev/$name" || -l "/dev/$name";
    make_device("/dev/$name", @{ $DEVICES{$name} }) or fail('RUN_LAUNCH', "mknod /dev/$name: $!");
    report('stub', 2, 'device', "/dev/$name");
  }
  for my $file (@$host_files) {
    my ($target, $data) = @$file;
    my $path = resolve_in_root('', $target);
    next if -e $path || -l $path;
    ensure_mount_point('', $path, 'file');
    write_file($path, $data, 0644, 0, 0);
  }
}

# ---------------------------------------------------------------------------------------------------------
# The step process: enter the root, become the user, execve.

# The step's process: enters the root (chroot mode), drops to the step's user (`$user`: as resolve_user
# returns it, else resolved here, inside the root) and execs the command.
sub enter_step {
  my ($env, $host_files, $user) = @_;
  $SIG{TERM} = 'DEFAULT';
  my $root = first('chroot');
  if (defined $root) {
    chroot($root) or fail('RUN_LAUNCH', "chroot $root: $!");
    chdir('/') or fail('RUN_LAUNCH', "chdir /: $!");
  }
  populate_chroot($host_files) if $mode eq 'chroot';
  my ($uid, $gid, $groups, $home) = $user ? @$user : resolve_user(first('user'));
  drop_capabilities() if namespaced();
  push @$env, "HOME=$home" unless grep { /^HOME=/ } @$env;
  my $cwd = first('cwd');
  make_path($cwd);
  chdir($cwd) or fail('RUN_LAUNCH', "cannot enter working directory $cwd: $!");
  my @gids = @$groups ? @$groups : ($gid);
  call('setgroups', num(scalar @gids), pack('L*', @gids)) == 0 or fail('RUN_LAUNCH', "setgroups: $!");
  call('setresgid', num($gid), num($gid), num($gid)) == 0 or fail('RUN_LAUNCH', "setresgid $gid: $!");
  call('setresuid', num($uid), num($uid), num($uid)) == 0 or fail('RUN_LAUNCH', "setresuid $uid: $!");
  my @argv = @{ $plan{argv}[0] };
  my $program = find_program($argv[0], $env);
  my $argvp = pack('p*', @argv, undef);
  my $envp = pack('p*', @$env, undef);
  call('execve', $program, $argvp, $envp);
  fail('RUN_EXEC', "exec $argv[0]: $!");
}

sub drop_capabilities {
  my %keep = map { $_ => 1 } @DOCKER_CAPS;
  for my $cap (0 .. 63) {
    next if $keep{$cap};
    # PR_CAPBSET_DROP; EINVAL past the kernel's last capability.
    if (call('prctl', num(24), num($cap), num(0), num(0), num(0)) != 0 && $!{EPERM}) {
      fail('RUN_LAUNCH', "drop capability $cap from the bounding set: $!");
    }
  }
  # Inheritable caps would survive root's execve whatever the bounding set says: clear them, and keep only
  # Docker's set in the permitted and effective sets (capget/capset, _LINUX_CAPABILITY_VERSION_3).
  my $header = pack('LL', 0x20080522, 0);
  my $data = "\0" x 24;
  syscall($sys->{capget}, $header, $data) == 0 or fail('RUN_LAUNCH', "capget: $!");
  my ($eff0, $prm0, undef, $eff1, $prm1) = unpack('L6', $data);
  my $low = 0;
  $low |= 1 << $_ for grep { $_ < 32 } @DOCKER_CAPS;
  $header = pack('LL', 0x20080522, 0);
  my $set = pack('L6', $eff0 & $low, $prm0 & $low, 0, 0, 0, 0);
  syscall($sys->{capset}, $header, $set) == 0 or fail('RUN_LAUNCH', "capset: $!");
}

sub namespaced { return $mode eq 'namespace' || $mode eq 'userns'; }

sub make_path {
  my ($path) = @_;
  my $sofar = '';
  for my $part (grep { $_ ne '' } split m{/}, $path) {
    $sofar .= "/$part";
    next if -d $sofar;
    mkdir($sofar, 0755) or fail('RUN_LAUNCH', "cannot create working directory $sofar: $!");
  }
}

# Like runc (Go's exec.LookPath with the step's own PATH): no shell fallback.
sub find_program {
  my ($name, $env) = @_;
  return $name if $name =~ m{/};
  my ($path) = map { substr($_, 5) } grep { /^PATH=/ } @$env;
  $path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' unless defined $path;
  for my $dir (split /:/, $path, -1) {
    my $candidate = ($dir eq '' ? '.' : $dir) . "/$name";
    return $candidate if -f $candidate && -x _;
  }
  fail('RUN_EXEC', "exec: \"$name\": executable file not found in \$PATH");
}

# BuildKit's rules: "" is "0" and "uid:gid" is taken as is (no lookup); anything else goes through runc's
# GetExecUser: user by name or uid, group by name or gid, supplementary groups only when no group is given.
sub resolve_user {
  my ($spec) = @_;
  # No USER is uid 0 looked up like any user (BuildKit's GetUser): root gets its groups from /etc/group.
  $spec = '0' if $spec eq '';
  my @passwd = read_db('/etc/passwd');
  my ($uid, $gid, $groups) = (0, 0, []);
  my ($user_arg, $group_arg) = split /:/, $spec, 2;
  $user_arg = '' unless defined $user_arg;
  if ($spec ne '' && !($spec =~ /^\d+:\d+$/)) {
    my ($entry) = grep { $user_arg =~ /^\d+$/ ? $_->[2] eq $user_arg : $_->[0] eq $user_arg } @passwd;
    if ($entry) {
      ($uid, $gid) = ($entry->[2], $entry->[3]);
    } elsif ($user_arg =~ /^\d+$/) {
      $uid = $user_arg;
    } else {
      fail('RUN_USER', "unable to find user $user_arg: no matching entries in passwd file");
    }
    my @group_db = read_db('/etc/group');
    if (defined $group_arg && $group_arg ne '') {
      my ($match) = grep { $_->[0] eq $group_arg || ($group_arg =~ /^\d+$/ && $_->[2] eq $group_arg) } @group_db;
      if ($match) { $gid = $match->[2]; }
      elsif ($group_arg =~ /^\d+$/) { $gid = $group_arg; }
      else { fail('RUN_USER', "unable to find group $group_arg: no matching entries in group file"); }
    } elsif ($entry) {
      $groups = [ map { $_->[2] } grep { my $g = $_; grep { $_ eq $entry->[0] } split /,/, ($g->[3] // '') } @group_db ];
    }
  } elsif ($spec ne '') {
    ($uid, $gid) = split /:/, $spec;
  }
  my ($home_entry) = grep { $_->[2] eq $uid } @passwd;
  my $home = $home_entry && $home_entry->[5] ne '' ? $home_entry->[5] : '/';
  return ($uid, $gid, $groups, $home);
}

sub read_db {
  my ($path) = @_;
  open(my $fh, '<', $path) or return ();
  my @rows;
  while (my $line = <$fh>) {
    chomp $line;
    next if $line eq '' || $line =~ /^#/;
    push @rows, [ split /:/, $line, -1 ];
  }
  return @rows;
}

# ---------------------------------------------------------------------------------------------------------

sub wait_for_step {
  my ($child) = @_;
  my $status;
  while (1) {
    my $pid = waitpid(-1, 0);
    last if $pid == -1;
    if ($pid == $child) { $status = $?; last; }
  }
  kill_descendants() if $mode ne 'namespace';
  exit(($status & 127) ? 128 + ($status & 127) : $status >> 8);
}

# As a script: run the step. Loaded by the spawner: this file's value, the sub it calls in each launcher.
return \&run if caller;
run();
