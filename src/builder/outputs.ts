/**
 * Writing the built image where the user asked: OCI layout, docker archive, digest files. Each output is
 * written atomically by its writer; digest files are written last, once every image output exists.
 */
import { withErrnoPath } from '../errors.ts';
import { writeFileAtomic } from '../fs/write-file-atomic.ts';
import { writeOciLayout } from '../image/oci-layout-write.ts';
import type { Image } from '../image/types.ts';
import type { Logger } from '../log/logger.ts';
import { loadDockerArchiveWriter } from './lazy-modules.ts';
import type { OutputOptions } from './options.ts';

/** `name@digest` lines (kaniko's --image-name-with-digest-file): the repository without tag. */
export function nameWithDigest(destination: string, digest: string): string {
  const lastSlash = destination.lastIndexOf('/');
  const colon = destination.lastIndexOf(':');
  const repo = colon > lastSlash ? destination.slice(0, colon) : destination;
  return `${repo}@${digest}`;
}

/** `name:tag@digest` lines (kaniko's --image-name-tag-with-digest-file); ":latest" when no tag is given. */
export function nameTagWithDigest(destination: string, digest: string): string {
  const lastSlash = destination.lastIndexOf('/');
  const colon = destination.lastIndexOf(':');
  const withTag = colon > lastSlash ? destination : `${destination}:latest`;
  return `${withTag}@${digest}`;
}

/** The OCI layout's `ref.name`: the first destination's tag, else "latest" (what umoci and skopeo look for). */
export function layoutRefName(destination: string | undefined): string {
  if (!destination) return 'latest';
  const name = destination.split('@')[0];
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : 'latest';
}

export async function writeOutputs(image: Image, output: OutputOptions, logger: Logger): Promise<string> {
  const digest = await image.digest();
  if (output.ociLayoutPath) {
    const layoutPath = output.ociLayoutPath;
    await withErrnoPath(layoutPath, () => writeOciLayout(layoutPath, image, { refName: layoutRefName(output.destinations[0]) }));
    logger.info(`wrote OCI layout ${output.ociLayoutPath}`);
  }
  if (output.tarPath) {
    const { writeDockerArchive } = await loadDockerArchiveWriter();
    const tarPath = output.tarPath;
    await withErrnoPath(tarPath, () => writeDockerArchive(tarPath, image, { tags: output.destinations }));
    logger.info(`wrote image tarball ${output.tarPath}`);
  }
  if (output.digestFile) writeFileAtomic(output.digestFile, digest);
  if (output.imageNameWithDigestFile) {
    writeFileAtomic(output.imageNameWithDigestFile, output.destinations.map((d) => nameWithDigest(d, digest)).join('\n') + '\n');
  }
  if (output.imageNameTagWithDigestFile) {
    writeFileAtomic(output.imageNameTagWithDigestFile, output.destinations.map((d) => nameTagWithDigest(d, digest)).join('\n') + '\n');
  }
  return digest;
}
