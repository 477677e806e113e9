/**
 * Can this host run a RUN step for a platform? Natively when the CPU runs it (amd64 runs 386 too), else only
 * through a binfmt_misc handler — QEMU user emulation — registered for that architecture's ELF binaries with
 * the F ("fix binary") flag: the kernel then opens the emulator when it is registered, so it works inside a
 * rootfs that has no emulator of its own (BuildKit needs the same). Reading binfmt_misc is pure parsing; the
 * caller hands in the directory's files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { formatPlatform } from '../image/platform.ts';
import type { Platform } from '../image/types.ts';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

/** One `M` (magic) entry of binfmt_misc as the kernel shows it. */
export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
  offset: number;
  magic: Buffer;
  mask: Buffer;
}

/** ELF identity of an architecture's executables: class (1 = 32-bit, 2 = 64-bit), byte order, e_machine. */
interface ElfIdentity {
  elfClass: 1 | 2;
  bigEndian: boolean;
  machine: number;
}

const ELF_BY_ARCH: Record<string, ElfIdentity> = {
  amd64: { elfClass: 2, bigEndian: false, machine: 0x3e },
  '386': { elfClass: 1, bigEndian: false, machine: 0x03 },
  arm64: { elfClass: 2, bigEndian: false, machine: 0xb7 },
  arm: { elfClass: 1, bigEndian: false, machine: 0x28 },
  riscv64: { elfClass: 2, bigEndian: false, machine: 0xf3 },
  ppc64le: { elfClass: 2, bigEndian: false, machine: 0x15 },
  s390x: { elfClass: 2, bigEndian: true, machine: 0x16 },
  mips64le: { elfClass: 2, bigEndian: false, machine: 0x08 },
  loong64: { elfClass: 2, bigEndian: false, machine: 0x102 },
};

/** Architectures a CPU of this kind executes without help. */
const NATIVE: Record<string, readonly string[]> = {
  amd64: ['amd64', '386'],
  arm64: ['arm64', 'arm'],
};

/** The first 20 bytes of an executable (ET_EXEC) of `architecture`, the part binfmt magics look at. */
export function elfHeaderOf(architecture: string): Buffer | undefined {
  const id = ELF_BY_ARCH[architecture];
  if (!id) return undefined;
  const header = Buffer.alloc(20);
  header.set([0x7f, 0x45, 0x4c, 0x46, id.elfClass, id.bigEndian ? 2 : 1, 1], 0);
  if (id.bigEndian) {
    header.writeUInt16BE(2, 16);
    header.writeUInt16BE(id.machine, 18);
  } else {
    header.writeUInt16LE(2, 16);
    header.writeUInt16LE(id.machine, 18);
  }
  return header;
}

/** Parses one binfmt_misc entry file; undefined for extension (`E`) entries and anything else without a magic. */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry | undefined {
  const fields = new Map<string, string>();
  let enabled = false;
  for (const line of text.split('\n')) {
    if (line === 'enabled') enabled = true;
    const space = line.indexOf(' ');
    if (space > 0) fields.set(line.slice(0, space).replace(/:$/, ''), line.slice(space + 1).trim());
  }
  const magic = fields.get('magic');
  const interpreter = fields.get('interpreter');
  if (!magic || !interpreter) return undefined;
  const mask = fields.get('mask');
  return {
    name,
    enabled,
    interpreter,
    flags: fields.get('flags') ?? '',
    offset: Number(fields.get('offset') ?? '0'),
    magic: Buffer.from(magic, 'hex'),
    mask: mask ? Buffer.from(mask, 'hex') : Buffer.alloc(magic.length / 2, 0xff),
  };
}

/** Whether `entry` claims a file starting with `header` (the kernel's masked compare at the entry's offset). */
export function entryMatches(entry: BinfmtEntry, header: Buffer): boolean {
  if (entry.offset + entry.magic.length > header.length) return false;
  for (let i = 0; i < entry.magic.length; i++) {
    if ((header[entry.offset + i] & entry.mask[i]) !== (entry.magic[i] & entry.mask[i])) return false;
  }
  return true;
}

export type ExecutionSupport =
  | { kind: 'native' }
  | { kind: 'emulated'; emulator: string; entry: string }
  | { kind: 'unavailable'; reason: string };

/** binfmt_misc as files: the directory's entries (name → content) and whether it is mounted and enabled. */
export interface BinfmtState {
  mounted: boolean;
  enabled: boolean;
  entries: BinfmtEntry[];
}

export function readBinfmtState(dir = BINFMT_DIR): BinfmtState {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { mounted: false, enabled: false, entries: [] };
  }
  if (!names.includes('status')) return { mounted: false, enabled: false, entries: [] };
  const read = (name: string): string => {
    try {
      return fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  const entries = names
    .filter((n) => n !== 'status' && n !== 'register')
    .map((n) => parseBinfmtEntry(n, read(n)))
    .filter((e): e is BinfmtEntry => e !== undefined);
  return { mounted: true, enabled: read('status').trim() === 'enabled', entries };
}

/** How (or why not) a RUN step for `target` can execute on a host of `host`'s architecture. */
export function executionSupport(target: Platform, host: Platform, binfmt: BinfmtState): ExecutionSupport {
  if (target.os !== 'linux') return { kind: 'unavailable', reason: `RUN needs a linux platform, not ${target.os}` };
  if ((NATIVE[host.architecture] ?? [host.architecture]).includes(target.architecture)) return { kind: 'native' };
  const header = elfHeaderOf(target.architecture);
  if (!header) return { kind: 'unavailable', reason: `Kiln does not know the executables of architecture ${target.architecture}` };
  if (!binfmt.mounted) return { kind: 'unavailable', reason: `binfmt_misc is not mounted at ${BINFMT_DIR}, so no emulator is registered` };
  if (!binfmt.enabled) return { kind: 'unavailable', reason: 'binfmt_misc is disabled' };
  const matching = binfmt.entries.filter((e) => e.enabled && entryMatches(e, header));
  const usable = matching.find((e) => e.flags.includes('F'));
  if (usable) return { kind: 'emulated', emulator: usable.interpreter, entry: usable.name };
  if (matching.length > 0) {
    return {
      kind: 'unavailable',
      reason: `the emulator registered for ${target.architecture} (${matching[0].name}: ${matching[0].interpreter}) lacks the F flag, so it cannot run inside the build's root filesystem`,
    };
  }
  return { kind: 'unavailable', reason: `no emulator is registered with binfmt_misc for ${target.architecture} executables` };
}

/** The error for a platform the host cannot run, with the commands that register QEMU's emulators. */
export function emulationError(target: Platform, host: Platform, reason: string): KilnError {
  return new KilnError('PLATFORM_NOT_RUNNABLE', `cannot run RUN steps for ${formatPlatform(target)} on this ${formatPlatform(host)} host: ${reason}`, {
    exitCode: 1,
    hint: `register QEMU user emulators with the F flag once per node (they stay until reboot): ` +
      `'docker run --privileged --rm tonistiigi/binfmt --install ${target.architecture}', or on Debian/Ubuntu ` +
      `'apt-get install qemu-user-static' (its binfmt entries carry F); see docs/multi-platform.md`,
  });
}
