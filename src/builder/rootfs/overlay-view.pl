# Holds an overlay view of a stage's layer dirs (overlay-view.ts): run by `unshare --mount` so the mount is in
# a private mount namespace, it mounts, says "mounted" on stdout, waits for its stdin to close, unmounts
# (synchronously: the upper dir is an ordinary directory again when this process is gone) and exits.
# Perl, as the RUN launcher: Kiln's image has neither a shell nor umount. Syscalls by number, core only.
# Arguments: ARCH (node's process.arch) BASE (cwd for the relative layer paths) OPTIONS MOUNTPOINT.
use strict;
use warnings;

my %SYSCALLS = (x64 => { mount => 165, umount2 => 166 }, generic => { mount => 40, umount2 => 39 });
my ($arch, $base, $options, $point) = @ARGV;
my $sys = $SYSCALLS{ $arch eq 'x64' ? 'x64' : 'generic' };

# Fresh copies: syscall() needs writable string buffers.
sub str { my ($s) = @_; return "$s"; }

chdir($base) or die "chdir $base: $!\n";
# A writable view is volatile (kernel ≥ 5.10): its unmount does not wait for a sync of the whole upper
# filesystem; older kernels refuse the option (EINVAL) and get the plain mount.
my $volatile = $options =~ /upperdir=/ ? ',volatile' : '';
if (syscall($sys->{mount}, str('kiln-view'), str($point), str('overlay'), 0, str("$options$volatile")) != 0) {
  die "mount overlay on $point ($options): $!\n" unless $volatile ne '' && $!{EINVAL};
  syscall($sys->{mount}, str('kiln-view'), str($point), str('overlay'), 0, str($options)) == 0
    or die "mount overlay on $point ($options): $!\n";
}
$| = 1;
print "mounted\n";
1 while sysread(STDIN, my $buf, 4096);
syscall($sys->{umount2}, str($point), 0) == 0 or die "umount $point: $!\n";
