/**
 * The registry the conformance corpus builds against: plain HTTP on 127.0.0.1:5000 (another port when 5000 is
 * taken — read `host`), acting as a docker.io mirror with the three base images under `library/`.
 */
import { baseImageLayout, baseImageMirrorNames, baseImageRefNames, pushImage, type BaseImageName } from './base-images.ts';
import { startRegistry, type TestRegistry } from './registry.ts';

export const conformanceMirrorPort = 5000;

export interface ConformanceMirror extends TestRegistry {
  /** Manifest digest of each image as pushed. */
  digests: Record<BaseImageName, string>;
}

export interface ConformanceMirrorOptions {
  /** Images to push (default all three; busybox-compat needs the corpus). */
  images?: BaseImageName[];
  port?: number;
}

async function startOnPreferredPort(port: number): Promise<TestRegistry> {
  try {
    return await startRegistry({ mode: 'plain', port });
  } catch (error) {
    if (!String(error).includes('address already in use')) throw error;
    return startRegistry({ mode: 'plain' });
  }
}

export async function startConformanceMirror(options: ConformanceMirrorOptions = {}): Promise<ConformanceMirror> {
  const images = options.images ?? (['busybox', 'busybox-compat', 'debian'] as BaseImageName[]);
  // Build (or find cached) layouts before the registry starts, so a slow debootstrap holds no port.
  const layouts = new Map<BaseImageName, string>();
  for (const name of images) layouts.set(name, await baseImageLayout(name));
  const registry = await startOnPreferredPort(options.port ?? conformanceMirrorPort);
  try {
    const digests = {} as Record<BaseImageName, string>;
    for (const [name, layout] of layouts) {
      digests[name] = (await pushImage(layout, baseImageRefNames[name], registry, baseImageMirrorNames[name])).digest;
    }
    return { ...registry, digests };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}
