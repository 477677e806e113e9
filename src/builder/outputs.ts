/**
 * Writing the built image where the user asked: OCI layout, docker archive, digest files. Each output is
 * written atomically when it is a regular file (output-file.ts says when it is written through instead);
 * digest files are written last, once every image output exists. A failed write names its flag and, after a
 * push, says that the push itself succeeded.
 */
import { KilnError, hostConditionError, withErrnoPath } from '../errors.ts';
import { writeOciLayout } from '../image/oci-layout-write.ts';
import { artifactDigest, type BuildArtifact } from '../image/platform-index.ts';
import type { Logger } from '../log/logger.ts';
import { parseReference } from '../registry/reference.ts';
import { loadDockerArchiveWriter } from './lazy-modules.ts';
import type { OutputOptions } from './options.ts';
import { writeOutputFile, writeOutputText } from './output-file.ts';

/** Exit code when the image was pushed but a local output could not be written afterwards (README). */
export const EXIT_OUTPUT_AFTER_PUSH = 3;

/** The destination as the user wrote it, split by the reference parser into its name, tag and digest. */
function splitDestination(destination: string): { name: string; tag: string | undefined } {
  const ref = parseReference(destination);
  let name = destination;
  if (ref.digest !== undefined && name.endsWith(`@${ref.digest}`)) name = name.slice(0, -ref.digest.length - 1);
  const tagged = ref.tag !== undefined && name.endsWith(`:${ref.tag}`);
  if (tagged) name = name.slice(0, -ref.tag!.length - 1);
  return { name, tag: tagged ? ref.tag : undefined };
}

/** `name@digest` lines (kaniko's --image-name-with-digest-file): the repository without tag. */
export function nameWithDigest(destination: string, digest: string): string {
  return `${splitDestination(destination).name}@${digest}`;
}

/** `name:tag@digest` lines (kaniko's --image-name-tag-with-digest-file); ":latest" when no tag is given. */
export function nameTagWithDigest(destination: string, digest: string): string {
  const { name, tag } = splitDestination(destination);
  return `${name}:${tag ?? 'latest'}@${digest}`;
}

/** The OCI layout's `ref.name`: the first destination's tag, else "latest" (what umoci and skopeo look for). */
export function layoutRefName(destination: string | undefined): string {
  return destination ? (splitDestination(destination).tag ?? 'latest') : 'latest';
}

export interface WrittenBefore {
  /** Where the image was pushed before the outputs are written, if anywhere. */
  pushedTo?: readonly string[];
}

/** Writes the image, or a multi-platform build's image index, to every local output; returns its digest. */
export async function writeOutputs(image: BuildArtifact, output: OutputOptions, logger: Logger, before: WrittenBefore = {}): Promise<string> {
  const digest = await artifactDigest(image);
  const attempt = async (flag: string, file: string, write: () => Promise<unknown>): Promise<void> => {
    try {
      await withErrnoPath(file, write);
    } catch (err) {
      if (err instanceof KilnError && !before.pushedTo?.length) throw err;
      const why = err instanceof KilnError ? err.message : hostConditionError(err)?.message ?? ((err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err));
      const pushed = before.pushedTo?.length ? `the image ${digest} was pushed to ${before.pushedTo.join(', ')}, but ` : '';
      throw new KilnError('OUTPUT_WRITE_FAILED', `${pushed}writing ${flag} ${file} failed: ${why}`, {
        cause: err,
        exitCode: pushed ? EXIT_OUTPUT_AFTER_PUSH : 1,
        hint: `check that ${file} can be written (its directory exists and is writable)`,
      });
    }
  };
  if (output.ociLayoutPath) {
    await attempt('--oci-layout-path', output.ociLayoutPath, () => writeOciLayout(output.ociLayoutPath!, image, { refName: layoutRefName(output.destinations[0]) }));
    logger.info(`wrote OCI layout ${output.ociLayoutPath}`);
  }
  if (output.tarPath) {
    const { archiveStream } = await loadDockerArchiveWriter();
    await attempt('--tar-path', output.tarPath, () => writeOutputFile(output.tarPath!, () => archiveStream(image, { tags: output.destinations })));
    logger.info(`wrote image tarball ${output.tarPath}`);
  }
  if (output.digestFile) await attempt('--digest-file', output.digestFile, () => writeOutputText(output.digestFile!, digest));
  if (output.imageNameWithDigestFile) {
    const text = output.destinations.map((d) => nameWithDigest(d, digest)).join('\n') + '\n';
    await attempt('--image-name-with-digest-file', output.imageNameWithDigestFile, () => writeOutputText(output.imageNameWithDigestFile!, text));
  }
  if (output.imageNameTagWithDigestFile) {
    const text = output.destinations.map((d) => nameTagWithDigest(d, digest)).join('\n') + '\n';
    await attempt('--image-name-tag-with-digest-file', output.imageNameTagWithDigestFile, () => writeOutputText(output.imageNameTagWithDigestFile!, text));
  }
  return digest;
}
