# Kiln's extended-attribute reader: one long-lived process per Kiln process (xattr-server.ts), so reading the
# xattrs of a step's changes costs a round trip over two FIFOs, not a getfattr spawn (~10 ms from Kiln's big
# Node process). Node has no xattr API; llistxattr/lgetxattr are called by number (only core built-ins: POSIX
# alone would add start-up time), so symlinks are never followed and names travel as raw bytes.
#
# Usage: perl xattr-server.pl ARCH DIR. Makes DIR/req and DIR/resp (FIFOs), opens resp once Kiln has a reader
# on it, writes "R", opens req once Kiln has a writer on it, and serves until req reaches EOF (Kiln closed it or died); Kiln removes DIR
# once it holds both ends. A death signal (prctl) and SIGPIPE on resp cover a Kiln that dies mid-request.
#
# Protocol (integers are unsigned 32-bit little-endian):
#   request:  op (1 byte: "P" = these paths, "T" = this tree), count, then count × (length, path bytes).
#             "T" takes one path and walks it like `getfattr -R -P`: lstat-based, symlinks not followed,
#             the root included.
#   response: total length as two u32 (low, high), then records: key, attribute count, count × (name, value),
#             each a (length, bytes) string. The key of "P" is the request index as a decimal string, of "T"
#             the path relative to the root ("" for the root). Entries without xattrs and unreadable or
#             missing paths are left out.
use strict;
use warnings;
no warnings 'recursion';   # deep trees are walked recursively

my %SYSCALLS = (
  x64     => { lgetxattr => 192, llistxattr => 195, mknodat => 259, prctl => 157 },
  # The asm-generic table (arm64, riscv64, loong64).
  generic => { lgetxattr => 9, llistxattr => 12, mknodat => 33, prctl => 167 },
);
my ($O_RDONLY, $O_WRONLY) = (0, 1);
my $S_IFIFO = 010000;
my $AT_FDCWD = -100;
my ($PR_SET_PDEATHSIG, $SIGKILL, $SIGTERM) = (1, 9, 15);
my $ERANGE = 34;
my $SMALL = 1024;

my ($arch, $dir) = @ARGV;
my $sys = $SYSCALLS{$arch} or die "xattr-server: no syscall numbers for $arch\n";
my ($LLISTXATTR, $LGETXATTR) = @$sys{qw(llistxattr lgetxattr)};
# Until Kiln has both ends open (it then removes DIR itself), a server that gives up removes DIR: its Kiln
# died (the death signal is SIGTERM until then, so this runs) or never came (a Kiln that never completes the
# handshake must not leave this process behind either).
$SIG{TERM} = $SIG{ALRM} = sub { unlink "$dir/req", "$dir/resp"; rmdir $dir; exit 1; };
syscall($sys->{prctl}, $PR_SET_PDEATHSIG, $SIGTERM, 0, 0, 0);
chdir '/';
alarm 20;

my ($req, $resp) = open_channel($dir);
alarm 0;
$SIG{TERM} = $SIG{ALRM} = 'DEFAULT';
syscall($sys->{prctl}, $PR_SET_PDEATHSIG, $SIGKILL, 0, 0, 0);
my $small_buf = "\0" x $SMALL;
serve();
exit 0;

sub open_channel {
  my ($d) = @_;
  mkfifo("$d/req");
  mkfifo("$d/resp");
  # Blocks until Kiln opens resp for reading; "R" tells it that this end is open.
  sysopen(my $out, "$d/resp", $O_WRONLY) or die "xattr-server: open resp: $!\n";
  binmode $out;
  write_all($out, 'R');
  # Blocks until Kiln opens req for writing (a read before that would see EOF).
  sysopen(my $in, "$d/req", $O_RDONLY) or die "xattr-server: open req: $!\n";
  binmode $in;
  return ($in, $out);
}

sub mkfifo {
  my ($path) = @_;
  syscall($sys->{mknodat}, $AT_FDCWD, $path, $S_IFIFO | 0600, 0) == 0 or die "xattr-server: mkfifo $path: $!\n";
}

sub serve {
  while (1) {
    my $op = read_exact($req, 1);
    return unless defined $op;
    my $count = unpack 'V', read_exact($req, 4) // return;
    my @paths;
    for (1 .. $count) {
      my $len = unpack 'V', read_exact($req, 4) // return;
      my $p = $len == 0 ? '' : read_exact($req, $len);
      return unless defined $p;
      push @paths, $p;
    }
    my @records;
    if ($op eq 'P') {
      for my $i (0 .. $#paths) { push @records, record("$i", $paths[$i]) }
    } elsif ($op eq 'T') {
      walk($paths[0], '', \@records) if @paths;
    } else {
      die "xattr-server: unknown request $op\n";
    }
    my $body = join '', grep { defined } @records;
    write_all($resp, pack('VV', length($body) & 0xffffffff, int(length($body) / 4294967296)) . $body);
  }
}

# The xattrs of one path as a response record, or undef when it has none or cannot be read.
sub record {
  my ($key, $path) = @_;
  my $list = fetch($LLISTXATTR, $path);
  return undef unless defined $list && $list ne '';
  my @pairs;
  for my $name (split /\0/, $list) {
    next if $name eq '';
    my $value = fetch($LGETXATTR, $path, $name);
    next unless defined $value;   # removed in between
    push @pairs, str($name) . str($value);
  }
  return undef unless @pairs;
  return str($key) . pack('V', scalar @pairs) . join('', @pairs);
}

# llistxattr or lgetxattr into a buffer that fits: the kernel allocates (and zeroes) as much as the buffer
# offered, so a small one first, then the size it reports. undef on failure.
sub fetch {
  my ($nr, @args) = @_;
  my $n = syscall($nr, @args, $small_buf, $SMALL);
  return substr($small_buf, 0, $n) if $n >= 0;
  while ($! == $ERANGE) {
    my $size = syscall($nr, @args, 0, 0);
    return undef if $size < 0;
    my $buf = "\0" x ($size || 1);
    $n = syscall($nr, @args, $buf, $size);
    return substr($buf, 0, $n) if $n >= 0;
  }
  return undef;
}

sub walk {
  my ($path, $rel, $records) = @_;
  lstat $path or return;
  my $is_dir = -d _;
  push @$records, record($rel, $path);
  return unless $is_dir;
  opendir(my $dh, $path) or return;
  my @names = readdir $dh;
  closedir $dh;
  my $prefix = $path eq '/' ? '/' : "$path/";
  my $rel_prefix = $rel eq '' ? '' : "$rel/";
  for (@names) {
    next if $_ eq '.' || $_ eq '..';
    walk($prefix . $_, $rel_prefix . $_, $records);
  }
}

sub str { pack('V', length $_[0]) . $_[0] }

sub read_exact {
  my ($fh, $len) = @_;
  my $buf = '';
  while (length($buf) < $len) {
    my $got = sysread($fh, $buf, $len - length($buf), length $buf);
    return undef unless $got;   # EOF: Kiln is gone
  }
  return $buf;
}

sub write_all {
  my ($fh, $data) = @_;
  my $off = 0;
  while ($off < length $data) {
    my $wrote = syswrite($fh, $data, length($data) - $off, $off);
    die "xattr-server: write: $!\n" unless defined $wrote;
    $off += $wrote;
  }
}
