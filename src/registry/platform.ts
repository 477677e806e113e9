/** Choosing the image for a platform from an index / manifest list (containerd's matching rules). */
import type { Descriptor, IndexManifest, Platform } from '../image/types.ts';
import { KilnError } from '../errors.ts';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const archAliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** Normalises architecture and variant ("aarch64" → arm64, arm64 "v8" → none, "armhf" → arm/v7). */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'armhf' && !variant) variant = 'v7';
  if (architecture === 'armel' && !variant) variant = 'v6';
  architecture = archAliases[architecture] ?? architecture;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  if (architecture === 'arm' && !variant) variant = 'v7';
  return { os, architecture, ...(variant && { variant }) };
}

/** "linux/arm64/v8" → {os, architecture, variant}. */
export function parsePlatform(text: string): PlatformSpec {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0) {
    throw new KilnError('INVALID_PLATFORM', `invalid platform "${text}"`, { hint: 'write it as os/arch[/variant], e.g. linux/amd64 or linux/arm/v7' });
  }
  return { os, architecture, ...(variant && { variant }) };
}

export function formatPlatform(p: PlatformSpec | Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The platform Node runs on, in OCI terms. */
export function hostPlatform(): PlatformSpec {
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch });
}

export function platformMatches(candidate: Platform | undefined, wanted: PlatformSpec): boolean {
  if (!candidate?.os || !candidate.architecture) return false;
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (c.os !== w.os || c.architecture !== w.architecture) return false;
  // A request without a variant takes any variant (the first listed), as go-containerregistry does.
  return wanted.variant === undefined || c.variant === w.variant;
}

/** The first descriptor of the index for `platform`; KilnError listing what exists otherwise. */
export function selectManifest(index: IndexManifest, platform: PlatformSpec, what: string): Descriptor {
  const found = index.manifests.find((d) => platformMatches(d.platform, platform));
  if (found) return found;
  const available = index.manifests.filter((d) => d.platform && d.platform.os !== 'unknown').map((d) => formatPlatform(d.platform!));
  throw new KilnError('PLATFORM_NOT_FOUND', `${what} has no image for platform ${formatPlatform(platform)}`, {
    hint: available.length ? `available: ${available.join(', ')}; choose one with --custom-platform` : 'the index lists no platforms',
  });
}
