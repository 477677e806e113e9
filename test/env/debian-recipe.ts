/**
 * The `debian:bookworm` base image: debootstrap minbase, then cleaned the way the official image is
 * (conformance/bases/README.md). Needs root and Debian's mirror.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPath } from './busybox-recipe.ts';
import { run } from './run.ts';
import { configure, newLayout, repack, unpack } from './umoci.ts';

export const debianSources = [
  'Types: deb',
  'URIs: http://deb.debian.org/debian',
  'Suites: bookworm bookworm-updates',
  'Components: main',
  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
  '',
  'Types: deb',
  'URIs: http://deb.debian.org/debian-security',
  'Suites: bookworm-security',
  'Components: main',
  'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
  '',
].join('\n');

function removeEntries(dir: string, keep: (name: string, isDir: boolean) => boolean): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!keep(entry.name, entry.isDirectory())) rmSync(join(dir, entry.name), { recursive: true, force: true });
  }
}

/**
 * The day (since 1970-01-01) recorded as every account's last password change in /etc/shadow. debootstrap
 * writes the build day; pinning it (as debuerreotype pins SOURCE_DATE_EPOCH for the official images) keeps the
 * image independent of when it was built. This is the day the corpus' reference image was built.
 */
export const shadowLastChangeDay = 20780;

/** Set the last-change field of every /etc/shadow entry that has one to `day`. */
export function pinShadowDates(shadowFile: string, day: number): void {
  if (!existsSync(shadowFile)) return;
  const lines = readFileSync(shadowFile, 'utf8').split('\n').map((line) => {
    const fields = line.split(':');
    if (fields.length < 3 || !/^\d+$/.test(fields[2])) return line;
    fields[2] = String(day);
    return fields.join(':');
  });
  writeFileSync(shadowFile, lines.join('\n'));
}

/** Apply the official image's cleaning to a debootstrapped rootfs. */
export function cleanDebianRootfs(rootfs: string): void {
  pinShadowDates(join(rootfs, 'etc/shadow'), shadowLastChangeDay);
  removeEntries(join(rootfs, 'dev'), () => false);
  removeEntries(join(rootfs, 'var/cache/apt/archives'), (name) => name === 'partial');
  removeEntries(join(rootfs, 'var/cache/apt/archives/partial'), () => false);
  removeEntries(join(rootfs, 'var/cache/apt'), (name, isDir) => isDir || !name.endsWith('.bin'));
  removeEntries(join(rootfs, 'var/lib/apt/lists'), (name) => name === 'partial');
  removeEntries(join(rootfs, 'var/lib/apt/lists/partial'), () => false);
  removeEntries(join(rootfs, 'var/cache/debconf'), (name) => !name.endsWith('-old'));
  removeEntries(join(rootfs, 'var/lib/dpkg'), (name) => !name.endsWith('-old'));
  for (const path of ['etc/resolv.conf', 'etc/hostname', 'var/log/bootstrap.log', 'etc/apt/sources.list']) {
    rmSync(join(rootfs, path), { force: true });
  }
  writeFileSync(join(rootfs, 'etc/apt/sources.list.d/debian.sources'), debianSources, { mode: 0o644 });
}

/** Mount points left under `dir` (debootstrap mounts /proc and /sys in the target while it works). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmount whatever a failed debootstrap left, so removing the work dir never reaches the host's /proc or /sys. */
export async function unmountLeftovers(dir: string): Promise<void> {
  for (const mountPoint of mountsUnder(dir)) await run('umount', ['-l', mountPoint]);
}

export function debianMirror(): string {
  return process.env.KILN_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
}

export async function buildDebian(layoutDir: string, refName: string, workDir: string): Promise<void> {
  const bundle = join(workDir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  await newLayout(layoutDir, refName);
  await unpack(layoutDir, refName, bundle);
  try {
    await run('debootstrap', ['--variant=minbase', 'bookworm', rootfs, debianMirror()]);
  } finally {
    await unmountLeftovers(workDir);
  }
  if (mountsUnder(workDir).length > 0) throw new Error(`mounts left under ${workDir}`);
  cleanDebianRootfs(rootfs);
  await repack(layoutDir, refName, bundle, 'debootstrap --variant=minbase bookworm (cleaned)');
  await configure(layoutDir, refName, { env: [defaultPath], cmd: ['bash'] });
}
