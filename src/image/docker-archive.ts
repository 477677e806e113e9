/**
 * Reading a `docker save` tarball (manifest.json; legacy `<id>/layer.tar` or docker 25+ `blobs/sha256/...`)
 * without extracting it: members are streamed by byte range. Uncompressed layers keep their tar digest as
 * blob digest with the uncompressed layer media type; when the archive also holds the OCI manifest of the
 * chosen image, that manifest (and its digest) is used as is.
 */
import * as fs from 'node:fs';
import { KilnError } from '../errors.ts';
import { compressionOfMagic } from './compression.ts';
import { digestStream, sha256Digest } from './digest.ts';
import { KnownLayer, withLayerMediaType } from './layer.ts';
import { parseJson } from './manifest-image.ts';
import { PartsImage } from './parts-image.ts';
import { indexTar, readMember, type TarMember } from './tar-index.ts';
import { parseTag } from './docker-archive-write.ts';
import { MediaType, type ConfigFile, type Digest, type Image, type IndexManifest, type Layer, type Manifest } from './types.ts';

interface ArchiveManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

export interface DockerArchiveSelector {
  /** One of the entry's RepoTags ("app:1.0"; "app" means "app:latest"). */
  tag?: string;
  /** Position in manifest.json. */
  index?: number;
}

function rangeStream(file: string, m: TarMember): fs.ReadStream {
  return fs.createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
}

/** A layer inside the archive. Its digest is known from a blobs/ path or an uncompressed diffID, else hashed once. */
function archiveLayer(file: string, name: string, m: TarMember, diffID: Digest): Layer {
  const head = Buffer.alloc(Math.min(4, m.size));
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, head.length, m.offset);
  } finally {
    fs.closeSync(fd);
  }
  const compression = compressionOfMagic(head);
  const fromPath = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
  const known = compression === 'none' ? diffID : fromPath ? `sha256:${fromPath[1]}` : undefined;
  const mediaType = compression === 'gzip' ? MediaType.dockerLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
  let digest: Promise<Digest> | undefined = known ? Promise.resolve(known) : undefined;
  const layer = new KnownLayer({ digest: known ?? '', diffID, size: m.size, mediaType }, () => rangeStream(file, m));
  return {
    digest: () => (digest ??= digestStream(rangeStream(file, m)).then((r) => r.digest)),
    diffID: () => layer.diffID(),
    size: () => layer.size(),
    mediaType: () => layer.mediaType(),
    compressed: () => layer.compressed(),
    uncompressed: () => layer.uncompressed(),
  };
}

function member(file: string, members: Map<string, TarMember>, name: string): TarMember {
  const m = members.get(name.replace(/^(\.\/)+/, ''));
  if (!m) throw new KilnError('INVALID_DOCKER_ARCHIVE', `${file}: missing ${name}`);
  return m;
}

function chooseEntry(file: string, entries: ArchiveManifestEntry[], select: DockerArchiveSelector): ArchiveManifestEntry {
  if (select.tag !== undefined) {
    const want = parseTag(select.tag);
    const found = entries.find((e) => (e.RepoTags ?? []).some((t) => t === select.tag || parseTag(t).full === want.full));
    if (!found) throw new KilnError('IMAGE_NOT_FOUND', `${file} has no image tagged ${select.tag}`);
    return found;
  }
  if (select.index !== undefined) {
    const e = entries[select.index];
    if (!e) throw new KilnError('IMAGE_NOT_FOUND', `${file} has no image #${select.index}`);
    return e;
  }
  if (entries.length !== 1) {
    throw new KilnError('AMBIGUOUS_IMAGE', `${file} holds ${entries.length} images`, {
      hint: `name one of: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ')}`,
    });
  }
  return entries[0];
}

/** The OCI manifest stored next to manifest.json for this config, if the archive has one. */
function ociManifestFor(file: string, members: Map<string, TarMember>, configDigest: Digest): Buffer | undefined {
  const indexMember = members.get('index.json');
  if (!indexMember) return undefined;
  const index = parseJson<IndexManifest>(readMember(file, indexMember), `${file}: index.json`);
  for (const d of index.manifests ?? []) {
    const m = members.get(`blobs/sha256/${d.digest.slice('sha256:'.length)}`);
    if (!m) continue;
    const raw = readMember(file, m);
    if (sha256Digest(raw) !== d.digest) continue;
    const manifest = parseJson<Manifest>(raw, `${file}: manifest ${d.digest}`);
    if (manifest.config?.digest === configDigest) return raw;
  }
  return undefined;
}

export function dockerArchiveImage(file: string, select: DockerArchiveSelector = {}): Image {
  return new PartsImage(async () => {
    const members = indexTar(file);
    const entries = parseJson<ArchiveManifestEntry[]>(readMember(file, member(file, members, 'manifest.json')), `${file}: manifest.json`);
    const entry = chooseEntry(file, entries, select);
    const rawConfig = readMember(file, member(file, members, entry.Config));
    const config = parseJson<ConfigFile>(rawConfig, `${file}: ${entry.Config}`);
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== entry.Layers.length) {
      throw new KilnError('CONFIG_LAYER_MISMATCH', `${file}: ${entry.Layers.length} layers but ${diffIDs.length} diff_ids`);
    }
    const rawManifest = ociManifestFor(file, members, sha256Digest(rawConfig));
    const manifest = rawManifest ? parseJson<Manifest>(rawManifest, 'manifest') : undefined;
    const layers = entry.Layers.map((name, i) => {
      const layer = archiveLayer(file, name, member(file, members, name), diffIDs[i]);
      const named = manifest?.layers[i]?.mediaType;
      return named ? withLayerMediaType(layer, named) : layer;
    });
    const docker = manifest?.mediaType === MediaType.dockerManifest || !manifest;
    return {
      config,
      rawConfig,
      layers,
      manifestMediaType: manifest?.mediaType ?? (docker ? MediaType.dockerManifest : MediaType.ociManifest),
      configMediaType: manifest?.config.mediaType ?? MediaType.dockerConfig,
      ...(rawManifest ? { rawManifest } : {}),
    };
  });
}
