/**
 * JSON for manifests, indexes and configs, byte-stable: fields in the order BuildKit/containerd write them
 * (Go struct order for manifests, descriptors and the container config; a config's top level sorted by key,
 * as BuildKit re-marshals it through a map), map keys sorted, unknown fields sorted after known ones, no
 * HTML escaping, no whitespace. Digests are taken over these exact bytes.
 */

/** How to order one object: its known keys in order, and how to order each field's value. */
interface Shape {
  keys?: readonly string[];
  /** Shape for named fields. */
  fields?: Record<string, Shape>;
  /** Shape for the elements of an array value. */
  items?: Shape;
  /** Shape for every value of a map (keys sorted). */
  values?: Shape;
}

const PLATFORM: Shape = { keys: ['architecture', 'os', 'os.version', 'os.features', 'variant'] };
const DESCRIPTOR: Shape = {
  keys: ['mediaType', 'digest', 'size', 'urls', 'annotations', 'data', 'platform', 'artifactType'],
  fields: { platform: PLATFORM },
};
const MANIFEST: Shape = {
  keys: ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations'],
  fields: { config: DESCRIPTOR, layers: { items: DESCRIPTOR }, subject: DESCRIPTOR },
};
const INDEX: Shape = {
  keys: ['schemaVersion', 'mediaType', 'artifactType', 'manifests', 'subject', 'annotations'],
  fields: { manifests: { items: DESCRIPTOR }, subject: DESCRIPTOR },
};
const HEALTHCHECK: Shape = { keys: ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] };
const CONTAINER_CONFIG: Shape = {
  // ocispec.ImageConfig, then BuildKit's DockerOCIImageConfigExt; Docker-only fields follow sorted.
  keys: [
    'User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal',
    'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell',
  ],
  fields: { Healthcheck: HEALTHCHECK },
};
const HISTORY: Shape = { keys: ['created', 'created_by', 'author', 'comment', 'empty_layer'] };
const CONFIG: Shape = {
  fields: {
    config: CONTAINER_CONFIG,
    container_config: CONTAINER_CONFIG,
    rootfs: { keys: ['type', 'diff_ids'] },
    history: { items: HISTORY },
  },
};

export const JsonShape = { manifest: MANIFEST, index: INDEX, config: CONFIG, descriptor: DESCRIPTOR } as const;
export type JsonKind = keyof typeof JsonShape;

function order(value: unknown, shape: Shape | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => order(v, shape?.items));
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const known = shape?.keys ?? [];
  for (const k of known) {
    if (obj[k] !== undefined) out[k] = order(obj[k], shape?.fields?.[k] ?? shape?.values);
  }
  const rest = Object.keys(obj).filter((k) => !known.includes(k) && obj[k] !== undefined).sort();
  for (const k of rest) out[k] = order(obj[k], shape?.fields?.[k] ?? shape?.values);
  return out;
}

/** The canonical bytes of a manifest, index or config. */
export function canonicalJson(value: unknown, kind: JsonKind): Buffer {
  return Buffer.from(JSON.stringify(order(value, JsonShape[kind])), 'utf8');
}
