/**
 * The platform a stage really has versus the one asked for: BuildKit builds on a base image of another
 * platform with a warning, and a RUN can only run binaries the host executes (natively or through a
 * binfmt_misc handler such as qemu-user-static).
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { formatPlatform, hostPlatform, normalizePlatform, platformMatches } from '../image/platform.ts';
import type { ConfigFile, Platform } from '../image/types.ts';

/** The platform an image's config says its binaries are for. */
export function configPlatform(config: ConfigFile): Platform {
  return normalizePlatform({ os: config.os || 'linux', architecture: config.architecture || 'amd64', ...(config.variant ? { variant: config.variant } : {}) });
}

/** BuildKit's InvalidBaseImagePlatform warning, when the base is not of the platform asked for. */
export function basePlatformWarning(name: string, wanted: Platform, config: ConfigFile): string | undefined {
  const actual = configPlatform(config);
  if (platformMatches(wanted, actual)) return undefined;
  return `InvalidBaseImagePlatform: Base image ${name} was pulled with platform "${formatPlatform(actual)}", expected "${formatPlatform(wanted)}" for current build`;
}

/** qemu's names for architectures, as qemu-user-static registers them in binfmt_misc. */
const QEMU_ARCH: Record<string, string> = {
  amd64: 'x86_64', '386': 'i386', arm64: 'aarch64', arm: 'arm', ppc64le: 'ppc64le', s390x: 's390x',
  riscv64: 'riscv64', mips64le: 'mips64el', mips64: 'mips64', loong64: 'loongarch64',
};

/** Architectures a host runs natively besides its own. */
const NATIVE_EXTRA: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] };

function binfmtEnabled(name: string, dir: string): boolean {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8').startsWith('enabled');
  } catch {
    return false;
  }
}

/** Whether this host can execute binaries of `platform`: natively, or through an enabled binfmt_misc handler. */
export function canExecute(platform: Platform, host: Platform = hostPlatform(), binfmtDir = '/proc/sys/fs/binfmt_misc'): boolean {
  const p = normalizePlatform(platform);
  if (p.os !== host.os) return false;
  if (p.architecture === host.architecture || NATIVE_EXTRA[host.architecture]?.includes(p.architecture)) return true;
  const qemu = QEMU_ARCH[p.architecture];
  return qemu !== undefined && binfmtEnabled('status', binfmtDir) && binfmtEnabled(`qemu-${qemu}`, binfmtDir);
}

/** Refuses a RUN whose binaries this host cannot execute, before anything starts. */
export function checkRunnable(config: ConfigFile, host: Platform = hostPlatform(), binfmtDir?: string): void {
  const platform = configPlatform(config);
  if (canExecute(platform, host, binfmtDir)) return;
  const qemu = QEMU_ARCH[platform.architecture];
  throw new KilnError('PLATFORM_NOT_RUNNABLE', `cannot RUN on a ${formatPlatform(platform)} image: this ${formatPlatform(host)} host cannot execute its programs`, {
    hint: platform.os === host.os && qemu
      ? `register an emulator for it (e.g. install qemu-user-static so that binfmt_misc has qemu-${qemu}), or build on a ${formatPlatform(platform)} machine`
      : `build on a ${formatPlatform(platform)} machine, or pick another platform with --custom-platform / FROM --platform`,
  });
}
