/**
 * Platforms ("os/arch[/variant]"): parsing, formatting, normalisation and matching, following containerd's
 * platforms package (x86_64 → amd64, aarch64 → arm64, arm64/v8 → arm64, arm → arm/v7, ...).
 */
import { KilnError } from '../errors.ts';
import type { Platform } from './types.ts';

export function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** containerd's normalizeArch: the canonical architecture and variant. */
export function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      switch (v) {
        case '8':
        case 'v8':
        case 'v8.0':
          return { architecture: 'arm64', variant: '' };
        case '9':
        case '9.0':
        case 'v9.0':
          return { architecture: 'arm64', variant: 'v9' };
        default:
          return { architecture: 'arm64', variant: /^\d/.test(v) ? `v${v}` : v };
      }
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      switch (v) {
        case '':
        case '7':
          return { architecture: 'arm', variant: 'v7' };
        case '5':
        case '6':
        case '8':
          return { architecture: 'arm', variant: `v${v}` };
        default:
          return { architecture: 'arm', variant: v };
      }
    default:
      return { architecture: a, variant: v };
  }
}

export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant ?? '');
  const out: Platform = { os: normalizeOs(p.os), architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = [...p['os.features']];
  return out;
}

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl',
  'netbsd', 'openbsd', 'plan9', 'solaris', 'windows', 'zos',
]);

/** Parses "linux", "linux/amd64", "linux/arm/v7", "arm64" (the host OS is assumed for a bare arch). */
export function parsePlatform(spec: string, host: Platform = hostPlatform()): Platform {
  const parts = spec.trim().split('/');
  const bad = (): never => {
    throw new KilnError('INVALID_PLATFORM', `invalid platform "${spec}"`, {
      hint: 'use os/arch[/variant], for example linux/amd64 or linux/arm/v7',
    });
  };
  if (parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) bad();
  if (parts.length === 1) {
    const only = parts[0].toLowerCase();
    if (KNOWN_OS.has(normalizeOs(only))) {
      return normalizePlatform({ ...host, os: only, variant: host.variant });
    }
    return normalizePlatform({ os: host.os, architecture: only });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/**
 * Whether an image for `have` serves a request for `want`: same OS and architecture after normalisation,
 * and the same variant when `want` names one.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.variant && w.variant !== (h.variant ?? '')) return false;
  if (w['os.version'] && h['os.version'] && w['os.version'] !== h['os.version']) return false;
  return true;
}

/** Index of the best candidate for `want`: an exact variant match first, else the first match; -1 if none. */
export function selectPlatform(want: Platform, candidates: Array<Platform | undefined>): number {
  const w = normalizePlatform(want);
  let first = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    if (!c || !platformMatches(w, c)) continue;
    if ((normalizePlatform(c).variant ?? '') === (w.variant ?? '')) return i;
    if (first < 0) first = i;
  }
  return first;
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x',
  riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle',
};

/** The platform of this process (the default build and pull platform). */
export function hostPlatform(): Platform {
  const arch = NODE_ARCH[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  const variant = arch === 'arm' && armVersion !== undefined ? `v${String(armVersion)}` : '';
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch, variant });
}
