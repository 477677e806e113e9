# Sets FS_TOPDIR_FL on each directory given, keeping its other flags (FS_IOC_GETFLAGS / FS_IOC_SETFLAGS, the
# numbers of 64-bit Linux; the kernel reads an int): top-dirs.ts says why. Exit code: how many could not be
# marked. Run as a script, or loaded once by the spawner, which forks it and calls run() (spawner.pl `launch`).
package KilnTopDirs;
use strict;
use warnings;

sub run {
  my $failed = 0;
  for my $dir (@_) {
    my ($fh, $flags) = (undef, "\0" x 8);
    $failed++ unless open($fh, '<', $dir) && ioctl($fh, 0x80086601, $flags)
      && ioctl($fh, 0x40086602, pack('L', unpack('L', $flags) | 0x20000) . "\0" x 4);
  }
  exit $failed;
}

# As a script: mark. Loaded by the spawner: this file's value, the sub it calls in the forked child.
return \&run if caller;
run(@ARGV);
