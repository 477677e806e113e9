/**
 * Registry push and pull of a ~200 MB image (4 × 50 MB incompressible layers) against a local registry,
 * Kiln vs `skopeo copy` measured in the same run. Prints ratios (Kiln time / skopeo time; < 1 is faster).
 * Run: node bench/registry.ts [--mb 200] [--layers 4] [--rounds 2]
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ociLayoutImage } from '../src/image/oci-layout.ts';
import { writeOciLayout } from '../src/image/oci-layout-write.ts';
import { MediaType } from '../src/image/types.ts';
import { defaultRegistryOptions } from '../src/registry/options.ts';
import { remoteImage } from '../src/registry/pull.ts';
import { pushImage } from '../src/registry/push.ts';
import { parseReference } from '../src/registry/reference.ts';
import { RegistrySession } from '../src/registry/session.ts';
import { skopeoRegistryFlags } from '../test/env/base-images.ts';
import { startRegistry } from '../test/env/registry.ts';
import { run } from '../test/env/run.ts';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '200' }, layers: { type: 'string', default: '4' }, rounds: { type: 'string', default: '2' } } });
const totalMb = Number(values.mb);
const layerCount = Number(values.layers);
const rounds = Number(values.rounds);

/** Writes a blob into the layout's store and returns its descriptor fields. */
function storeBlob(layout: string, write: (fd: number, hash: ReturnType<typeof createHash>) => number): { digest: string; size: number } {
  const tmp = join(layout, 'blobs', 'sha256', 'tmp');
  const fd = openSync(tmp, 'w');
  const hash = createHash('sha256');
  const size = write(fd, hash);
  closeSync(fd);
  const hex = hash.digest('hex');
  renameSync(tmp, join(layout, 'blobs', 'sha256', hex));
  return { digest: `sha256:${hex}`, size };
}

/** An OCI layout with `layerCount` tar layers of random bytes (a tar with one file each). */
function makeLayout(dir: string): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const perLayer = Math.floor((totalMb * 1024 * 1024) / layerCount / 512) * 512;
  const layers = [];
  for (let i = 0; i < layerCount; i++) {
    layers.push(storeBlob(dir, (fd, hash) => {
      const header = Buffer.alloc(512);
      header.write(`data${i}.bin`, 0);
      header.write('0000644\0', 100);
      header.write('0000000\0', 108);
      header.write('0000000\0', 116);
      header.write(perLayer.toString(8).padStart(11, '0') + '\0', 124);
      header.write('00000000000\0', 136);
      header.write('        ', 148);
      header.write('0', 156);
      header.write('ustar\u000000', 257);
      let sum = 0;
      for (const b of header) sum += b;
      header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
      let written = 0;
      const chunk = Buffer.alloc(1 << 20);
      const emit = (b: Buffer) => {
        hash.update(b);
        writeSync(fd, b);
        written += b.length;
      };
      emit(header);
      for (let left = perLayer; left > 0; left -= chunk.length) emit(randomFillSync(chunk).subarray(0, Math.min(left, chunk.length)));
      emit(Buffer.alloc(1024));
      return written;
    }));
  }
  const diffIds = layers.map((l) => l.digest);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configDesc = storeBlob(dir, (fd, hash) => (hash.update(config), writeSync(fd, config)));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, ...configDesc },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayer, ...l })),
  }));
  const manifestDesc = storeBlob(dir, (fd, hash) => (hash.update(manifest), writeSync(fd, manifest)));
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociManifest, ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }));
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const work = mkdtempSync(join(tmpdir(), 'kiln-bench-registry-'));
let registry = await startRegistry({ mode: 'plain' });
try {
  const layout = join(work, 'layout');
  makeLayout(layout);
  const skopeo = ['--insecure-policy', 'copy', '--quiet'];
  const results: Record<string, { kiln: number[]; skopeo: number[] }> = { push: { kiln: [], skopeo: [] }, pull: { kiln: [], skopeo: [] } };

  for (let round = 0; round < rounds; round++) {
    // A fresh registry each round so every push uploads every byte: skopeo's blob-info cache would
    // otherwise mount blobs from an earlier round's repository.
    if (round > 0) {
      await registry.stop();
      registry = await startRegistry({ mode: 'plain' });
    }
    const opts = defaultRegistryOptions({ dockerConfigDir: registry.dockerConfigDir });
    results.push.skopeo.push(await time(() => run('skopeo', [...skopeo, ...skopeoRegistryFlags(registry, 'dest'), `oci:${layout}:latest`, `docker://${registry.host}/skopeo${round}:1`])));
    results.push.kiln.push(await time(async () => {
      const session = new RegistrySession(opts);
      try {
        await pushImage(await ociLayoutImage(layout), [parseReference(`${registry.host}/kiln${round}:1`)], opts, { session, concurrency: 4 });
      } finally {
        await session.close();
      }
    }));
    const skopeoOut = join(work, `pull-skopeo-${round}`);
    const kilnOut = join(work, `pull-kiln-${round}`);
    results.pull.skopeo.push(await time(() => run('skopeo', [...skopeo, ...skopeoRegistryFlags(registry, 'src'), `docker://${registry.host}/skopeo${round}:1`, `oci:${skopeoOut}:latest`])));
    results.pull.kiln.push(await time(async () => {
      const session = new RegistrySession(opts);
      try {
        await writeOciLayout(kilnOut, await remoteImage(parseReference(`${registry.host}/kiln${round}:1`), opts, { session }), { refName: 'latest' });
      } finally {
        await session.close();
      }
    }));
    rmSync(skopeoOut, { recursive: true, force: true });
    rmSync(kilnOut, { recursive: true, force: true });
  }
  const best = (xs: number[]) => Math.min(...xs);
  console.log(`registry bench: ${totalMb} MB in ${layerCount} layers, best of ${rounds} rounds`);
  for (const [op, r] of Object.entries(results)) {
    const k = best(r.kiln);
    const s = best(r.skopeo);
    console.log(`${op.padEnd(5)} kiln ${k.toFixed(0).padStart(6)} ms (${(totalMb / (k / 1000)).toFixed(0)} MB/s)  skopeo ${s.toFixed(0).padStart(6)} ms  ratio kiln/skopeo ${(k / s).toFixed(2)}`);
  }
} finally {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
