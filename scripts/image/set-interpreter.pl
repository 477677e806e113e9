#!/usr/bin/perl
# Usage: set-interpreter.pl NEW_INTERPRETER ELF_FILE...
# Rewrites the program interpreter (PT_INTERP, normally /lib64/ld-linux-x86-64.so.2) of 64-bit little-endian
# ELF executables in place, so they start with a loader kept under /kaniko even once an in-place build has
# replaced the image's / (and no patchelf is needed in the image build). The new path must fit in the old one.
use strict;
use warnings;

my ($interp, @files) = @ARGV;
die "usage: $0 NEW_INTERPRETER ELF_FILE...\n" unless defined $interp && @files;
for my $file (@files) {
  open(my $fh, '+<:raw', $file) or die "$file: $!\n";
  read($fh, my $header, 64) == 64 or die "$file: too short for an ELF header\n";
  die "$file: not a 64-bit little-endian ELF file\n" unless substr($header, 0, 6) eq "\x7fELF\x02\x01";
  my $phoff = unpack('Q<', substr($header, 32, 8));
  my ($phentsize, $phnum) = unpack('v v', substr($header, 54, 4));
  my $done = 0;
  for my $i (0 .. $phnum - 1) {
    seek($fh, $phoff + $i * $phentsize, 0) or die "$file: $!\n";
    read($fh, my $ph, $phentsize) == $phentsize or die "$file: truncated program header\n";
    next unless unpack('V', $ph) == 3;    # PT_INTERP
    my ($offset, $size) = (unpack('Q<', substr($ph, 8, 8)), unpack('Q<', substr($ph, 32, 8)));
    die "$file: $interp is longer than the interpreter field ($size bytes)\n" if length($interp) + 1 > $size;
    seek($fh, $offset, 0) or die "$file: $!\n";
    print $fh $interp, "\0" x ($size - length($interp)) or die "$file: $!\n";
    $done = 1;
  }
  close($fh) or die "$file: $!\n";
  die "$file: no program interpreter (a static binary?)\n" unless $done;
}
