# The probe a namespaced step's mounts must pass (detect-isolation.ts), run in that step's namespaces: forked by
# the spawner in them (spawner.pl `launch`, as a namespace-mode launcher is), or run by `unshare` (userns mode,
# after userns-entry.pl). Perl, not sh: Kiln's image has no shell. mount(2) is called by number (MOUNT) as the
# launcher calls it: no `mount` binary started three times while the probe is on the first RUN step's path.
# A tmpfs on TMP (namespace mode also mounts a fresh sysfs, which needs the network namespace's owner: inside a
# user namespace of its own, a rootless container or a test's private binfmt, Kiln has CAP_SYS_ADMIN but not
# that), and first, when MERGED is set, an overlay on it with OPTIONS (before the tmpfs can hide its
# directories). Exit 0: the isolation works, and so does the overlay; 3: the isolation works, the overlay does
# not; other: the isolation does not.
# Arguments: TMP MERGED OPTIONS MODE MOUNT
package KilnIsolationProbe;
use strict;
use warnings;

sub run {
  my ($tmp, $merged, $options, $mode, $mount) = map { "$_" } @_;
  # syscall() takes writable strings: no literals.
  my ($source, $ovl, $tmpfs, $sysfs) = ('kiln-probe', 'overlay', 'tmpfs', 'sysfs');
  my $overlay = 0;
  $overlay = 3 if $merged ne '' && syscall($mount + 0, $source, $merged, $ovl, 0, $options) != 0;
  syscall($mount + 0, $source, $tmp, $tmpfs, 0, 0) == 0 or exit 1;
  $mode ne 'namespace' or syscall($mount + 0, $source, $tmp, $sysfs, 0, 0) == 0 or exit 1;
  exit $overlay;
}

# As a script: probe. Loaded by the spawner: this file's value, the sub it calls in the forked probe.
return \&run if caller;
run(@ARGV);
