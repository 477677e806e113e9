# userns mode, first stage of a step (`perl userns-entry.pl ARCH -- COMMAND…`): create a user namespace that
# maps this process's ids 1:1 (every range it has, not only root: apt needs setgroups and its `_apt` user),
# then exec COMMAND (`unshare … perl launcher.pl PLAN`) inside it, as root of the new namespace.
#
# A process cannot map more than its own id into a namespace it created, so a helper child, still in the
# parent namespace with CAP_SETUID/CAP_SETGID, writes the maps: no newuidmap, no /etc/subuid. Errors are
# reported on fd 3 (Kiln's status channel, as launcher.pl does; stderr when there is none) and exit 125. Fd 3
# stays open across the exec for the second stage. perl-base only, like launcher.pl.
use strict;
use warnings;

my $EXIT_LAUNCH_FAILED = 125;
my $CLONE_NEWUSER = 0x10000000;
my ($arch, undef, @command) = @ARGV;
my $unshare_nr = $arch eq 'x64' ? 272 : 97;          # x86_64, else the asm-generic table (arm64, riscv64)

my $status_fh;
open($status_fh, '>&=', 3) or open($status_fh, '>&', \*STDERR) or die "kiln userns-entry: no status fd: $!\n";
fcntl($status_fh, 2, 0);                               # F_SETFD 0: the second stage reports on the same fd
select((select($status_fh), $| = 1)[0]);

sub fail {
  my ($code, $message) = @_;
  print $status_fh join("\0", 'error', 2, $code, $message) . "\0";
  exit $EXIT_LAUNCH_FAILED;
}

# "inside outside count" lines of this process's map become "inside inside count": the same ids, 1:1.
sub identity_map {
  my ($path) = @_;
  open(my $fh, '<', $path) or fail('RUN_ISOLATION', "cannot read $path: $!");
  my @lines = map { [ split ' ' ] } grep { /\S/ } <$fh>;
  close $fh;
  fail('RUN_ISOLATION', "$path is empty") unless @lines;
  return join '', map { "$_->[0] $_->[0] $_->[2]\n" } @lines;
}

sub write_proc {
  my ($path, $data) = @_;
  open(my $fh, '>', $path) or fail('RUN_ISOLATION', "cannot open $path: $!");
  syswrite($fh, $data) == length $data or fail('RUN_ISOLATION', "cannot map ids ($path): $!");
  close $fh;
}

my $uid_map = identity_map('/proc/self/uid_map');
my $gid_map = identity_map('/proc/self/gid_map');
pipe(my $ready_in, my $ready_out) or fail('RUN_ISOLATION', "pipe: $!");
my $helper = fork;
fail('RUN_ISOLATION', "fork: $!") unless defined $helper;
if ($helper == 0) {
  close $ready_out;
  exit 0 unless sysread($ready_in, my $byte, 1);      # EOF: unshare failed, nothing to map
  my $target = getppid();
  write_proc("/proc/$target/uid_map", $uid_map);
  write_proc("/proc/$target/gid_map", $gid_map);
  exit 0;
}
close $ready_in;
my $unshared = syscall($unshare_nr, $CLONE_NEWUSER) == 0;
my $error = "$!";
syswrite($ready_out, 'x') if $unshared;
close $ready_out;
waitpid($helper, 0);
exit $EXIT_LAUNCH_FAILED if $? != 0;                   # the helper reported why
fail('RUN_ISOLATION', "cannot create a user namespace: $error") unless $unshared;
exec { $command[0] } @command or fail('RUN_LAUNCH', "exec $command[0]: $!");
