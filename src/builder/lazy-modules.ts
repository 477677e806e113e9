/**
 * Subsystems a build loads on first use, not at start-up: every build pays for what `kiln build` imports
 * before its first step (DESIGN.md: start-up < 150 ms), and most builds need only some of these. A FROM scratch
 * build with COPY only never loads the registry client (undici alone costs more than the rest of start-up).
 * Node caches a module once loaded, so calling an accessor again is cheap.
 */

/** The registry client (undici, auth, pull, push): only for registry base images and --destination. */
export const loadRegistryClient = () => import('../registry/index.ts');

/** --base-image-source, the base-image cache dir, OCI layout and docker archive readers: only for FROM an image. */
export const loadLocalImageSources = () => import('./local-image-sources.ts');

/** COPY and ADD: the copy engine (patterns, chown/chmod, xattrs, heredocs, archives, URLs). */
export const loadCopyInstruction = () => import('./instructions/copy.ts');

/** The layer extractor (tar-stream, whiteouts, xattrs, device nodes): only for a stage FROM an image or COPY --link. */
export const loadLayerExtractor = () => import('../fs/extract/apply-layer.ts');

/** ADD of a local tar archive (tar-stream, decompressors): only when ADD meets an archive. */
export const loadArchiveUnpacker = () => import('./copy/unpack.ts');

/** --tar-path: the docker archive writer. */
export const loadDockerArchiveWriter = () => import('../image/docker-archive-write.ts');

/** RUN: argv, mounts and history of a step. */
export const loadRunInstruction = () => import('./instructions/run.ts');

/** The sandbox (namespaces, chroot, mounts): only for RUN. */
export const loadSandbox = () => import('../sandbox/index.ts');

/** RUN steps in the sandbox with their overlay or walk snapshot: only for RUN. */
export const loadStepRunner = () => import('./rootfs/step-snapshots.ts');
