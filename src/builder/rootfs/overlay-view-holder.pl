# Holds the overlay views of one build (overlay-view-holder.ts): run in a private mount namespace of its own (forked
# there by the spawner, or started by `unshare --mount`), it serves mount and umount requests on stdin, one per line, answering each on stdout,
# until its stdin closes (Kiln closed it, or died); then it unmounts what is still mounted and exits (status 1
# when one could not be unmounted).
# Perl, as the RUN launcher: Kiln's image has neither a shell nor umount. Syscalls by number, core only.
# Argument: ARCH (node's process.arch).
#
# Protocol: fields separated by one space, each percent-encoded (%XX for any byte; Kiln encodes at least
# space, %, and line breaks), so paths may hold anything.
#   mount ID BASE OPTIONS POINT   mounts an overlay with OPTIONS (paths in them relative to BASE) on POINT
#   umount ID POINT               unmounts POINT (synchronously: its upper dir is an ordinary directory again)
# Answers, in the order the requests were served: "ok ID" or "err ID MESSAGE" (MESSAGE unencoded, one line).
#
# Run as a script, or loaded once by the spawner, which forks it in a mount namespace of its own and calls run()
# (spawner.pl, `launch`).
package KilnViewHolder;
use strict;
use warnings;

my %SYSCALLS = (x64 => { mount => 165, umount2 => 166 }, generic => { mount => 40, umount2 => 39 });
my ($MNT_DETACH, $EBUSY) = (2, 16);
my $sys;
# Mount points still mounted, in mount order (unmounted in reverse at the end).
my @mounted;
# Set once the kernel refused `volatile` and took the plain mount: later writable views skip the first try.
my $no_volatile = 0;

sub run {
  my ($arch) = @_;
  $sys = $SYSCALLS{ ($arch // '') eq 'x64' ? 'x64' : 'generic' };
  $| = 1;
  chdir '/';
  while (defined(my $line = <STDIN>)) {
    $line =~ s/\r?\n\z//;
    my ($op, $id, @args) = map { decode($_) } split / /, $line, -1;
    next unless defined $id && $id ne '';
    my $error = $op eq 'mount' && @args == 3 ? mount_view(@args)
      : $op eq 'umount' && @args == 1 ? umount_view($args[0])
      : "unknown request '$op' with " . scalar(@args) . ' argument(s)';
    if (defined $error) {
      $error =~ s/[\r\n]+/ /g;
      print "err $id $error\n";
    } else {
      print "ok $id\n";
    }
  }
  # Kiln closed the channel: nothing it holds may stay mounted (the namespace would go with this process anyway,
  # but unmounting here is synchronous).
  my $status = 0;
  for my $point (reverse my @left = @mounted) {
    my $error = umount_view($point);
    next unless defined $error;
    print STDERR "overlay-view-holder: $error\n";
    $status = 1;
  }
  exit $status;
}

sub decode {
  my ($s) = @_;
  $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
  return $s;
}

# Fresh copies: syscall() needs writable string buffers.
sub str { my ($s) = @_; return "$s"; }

# undef on success, else the reason.
sub mount_view {
  my ($base, $options, $point) = @_;
  chdir($base) or return "chdir $base: $!";
  # A writable view is volatile (kernel >= 5.10): its unmount does not wait for a sync of the whole upper
  # filesystem; older kernels refuse the option (EINVAL) and get the plain mount.
  my $volatile = $options =~ /upperdir=/ && !$no_volatile ? ',volatile' : '';
  my $ok = syscall($sys->{mount}, str('kiln-view'), str($point), str('overlay'), 0, str("$options$volatile")) == 0;
  if (!$ok && $volatile ne '' && $!{EINVAL}) {
    $ok = syscall($sys->{mount}, str('kiln-view'), str($point), str('overlay'), 0, str($options)) == 0;
    $no_volatile = 1 if $ok;
  }
  my $error = $ok ? undef : "mount overlay on $point ($options): $!";
  chdir '/';
  push @mounted, $point if $ok;
  return $error;
}

sub umount_view {
  my ($point) = @_;
  if (syscall($sys->{umount2}, str($point), 0) != 0) {
    my $error = "umount $point: $!";
    # Something still holds a file in the view: detach it (it goes when that is closed), as the end of a
    # one-view holder did before; anything else is reported.
    return $error unless $! == $EBUSY && syscall($sys->{umount2}, str($point), $MNT_DETACH) == 0;
  }
  @mounted = grep { $_ ne $point } @mounted;
  return undef;
}

# As a script: serve. Loaded by the spawner: this file's value, the sub it calls in the forked holder.
return \&run if caller;
run(@ARGV);
