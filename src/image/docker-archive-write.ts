/**
 * `docker save` format: manifest.json + repositories + blobs, plus the OCI index.json and oci-layout that
 * docker 25+ writes, all in one deterministic tarball. Layer blobs are stored as they are (compressed), so
 * the OCI manifest inside is the image's own manifest. Written to a temp file next to the target, renamed
 * when complete.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.ts';
import { canonicalJson } from './canonical-json.ts';
import { digestHex } from './digest.ts';
import { verifiedStream } from './image-blobs.ts';
import { artifactBlobs, artifactDescriptor, isBuiltIndex, type BuildArtifact } from './platform-index.ts';
import { hostPlatform, platformMatches } from './platform.ts';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from './select-image.ts';
import { MediaType, type Image } from './types.ts';
import { encodeTarHeader, padding, tarTrailer, type TarEntry } from '../fs/tar-entry.ts';

export interface DockerArchiveWriteOptions {
  /** Image names with tags ("app:1.0", "registry:5000/team/app"); ":latest" is added when no tag is given. */
  tags?: string[];
  /** mtime of the archive's entries (default 0, for reproducible archives). */
  mtime?: number;
}

export interface ParsedTag {
  /** Familiar form as docker shows it: "app:1.0", "registry:5000/team/app:1.0". */
  familiar: string;
  /** Repository in familiar form, without tag. */
  repository: string;
  tag: string;
  /** Fully qualified: "docker.io/library/app:1.0". */
  full: string;
}

export function parseTag(ref: string): ParsedTag {
  const text = ref.trim();
  if (text === '' || text.includes('@') || !/^[a-z0-9._\-/:]+$/.test(text.replace(/:[\w][\w.-]*$/, '').toLowerCase())) {
    throw new KilnError('INVALID_TAG', `invalid image tag "${ref}"`, { hint: 'use name[:tag], for example app:1.0' });
  }
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? text.slice(0, colon) : text;
  const tag = hasTag ? text.slice(colon + 1) : 'latest';
  const first = name.split('/')[0];
  const hasDomain = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  let full = hasDomain ? name : `docker.io/${name.includes('/') ? name : `library/${name}`}`;
  if (full.startsWith('index.docker.io/')) full = `docker.io/${full.slice('index.docker.io/'.length)}`;
  let repository = full;
  if (repository.startsWith('docker.io/library/')) repository = repository.slice('docker.io/library/'.length);
  else if (repository.startsWith('docker.io/')) repository = repository.slice('docker.io/'.length);
  return { familiar: `${repository}:${tag}`, repository, tag, full: `${full}:${tag}` };
}

function blobPath(digest: string): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** The images manifest.json lists: the image, or an index's images (the tags go to the host platform's, which `docker load` runs here). */
async function archivedImages(artifact: BuildArtifact): Promise<Array<{ image: Image; tagged: boolean }>> {
  if (!isBuiltIndex(artifact)) return [{ image: artifact, tagged: true }];
  const host = artifact.images.findIndex((i) => platformMatches(hostPlatform(), i.platform));
  return artifact.images.map((i, n) => ({ image: i.image, tagged: n === (host < 0 ? 0 : host) }));
}

/** The archive's bytes, in order, for writers that choose where they go. An index's archive names the index in index.json. */
export async function* archiveStream(image: BuildArtifact, options: DockerArchiveWriteOptions = {}): AsyncGenerator<Buffer> {
  const tags = (options.tags ?? []).map(parseTag);
  const mtime = options.mtime ?? 0;
  const top = await artifactDescriptor(image);
  const dir = (p: string): TarEntry => ({ path: p, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime });
  const file = (p: string, data: Buffer): TarEntry => ({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, content: data });

  yield encodeTarHeader(dir('blobs'));
  yield encodeTarHeader(dir('blobs/sha256'));
  for (const blob of await artifactBlobs(image)) {
    yield encodeTarHeader({ path: blobPath(blob.digest), type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size: blob.size });
    yield* verifiedStream(blob);
    yield Buffer.alloc(padding(blob.size));
  }

  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: (tags.length ? tags : [undefined]).map((t) => ({
      ...top,
      ...(t ? { annotations: { [CONTAINERD_NAME_ANNOTATION]: t.full, [REF_NAME_ANNOTATION]: t.tag } } : {}),
    })),
  };
  const dockerManifest = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image: one, tagged } of await archivedImages(image)) {
    const layerPaths = (await one.manifest()).layers.map((d) => blobPath(d.digest));
    dockerManifest.push({ Config: blobPath((await one.manifest()).config.digest), RepoTags: tagged ? tags.map((t) => t.familiar) : [], Layers: layerPaths });
    const last = layerPaths.at(-1);
    for (const t of tagged ? tags : []) {
      if (last) (repositories[t.repository] ??= {})[t.tag] = path.basename(last);
    }
  }
  const entries: Array<[string, Buffer]> = [
    ['index.json', canonicalJson(index, 'index')],
    ['manifest.json', Buffer.from(JSON.stringify(dockerManifest))],
    ['oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }))],
  ];
  if (Object.keys(repositories).length) entries.push(['repositories', Buffer.from(JSON.stringify(repositories))]);
  for (const [name, data] of entries) {
    yield encodeTarHeader(file(name, data));
    yield data;
    yield Buffer.alloc(padding(data.length));
  }
  yield tarTrailer();
}

/** Writes `image` as a docker-loadable tarball at `file`, atomically. */
export async function writeDockerArchive(file: string, image: Image, options: DockerArchiveWriteOptions = {}): Promise<void> {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(Readable.from(archiveStream(image, options)), fs.createWriteStream(tmp, { flags: 'wx' }));
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
