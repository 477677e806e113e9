/**
 * The layer cache in an OCI layout (`--cache-repo oci:DIR`), from the CLI on the real busybox base: RUN
 * steps write time stamps, so an equal stamp (and an equal digest under --reproducible) proves a step did
 * not run again. Entries are checked with skopeo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../env/run.ts';
import { context, kiln, tempDir } from './kiln-process.ts';
import { busyboxSource, cacheEntries, fileInImage, layoutManifest, stepOutcomes } from './layer-cache-helpers.ts';

const STAMPED = [
  'FROM busybox',
  'RUN date +%s%N > /stamp0',
  'COPY a.txt /a.txt',
  'RUN date +%s%N > /stamp1 && cat /a.txt > /copy',
  'ARG X=one',
  'RUN echo $X > /x && date +%s%N > /stamp2',
  '',
].join('\n');

interface Built {
  status: number | null;
  log: string;
  layout: string;
  digest: string;
}

async function build(t: { after(fn: () => void): void }, ctx: string, cache: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Built> {
  const out = tempDir(t, 'kiln-out-');
  const layout = path.join(out, 'oci');
  const r = await kiln(['build', '-c', ctx, '--no-push', '--oci-layout-path', layout, '--digest-file', path.join(out, 'digest'),
    '--cache=true', `--cache-repo=oci:${cache}`, '--reproducible', '--verbosity=debug', ...(await busyboxSource()), ...extra], env);
  const digest = fs.existsSync(path.join(out, 'digest')) ? fs.readFileSync(path.join(out, 'digest'), 'utf8') : '';
  return { status: r.status, log: r.stderr, layout, digest };
}

test('a warm rebuild runs no step and gives the cold digest; entries are images skopeo reads', async (t) => {
  const ctx = context(t, { Dockerfile: STAMPED, 'a.txt': 'hello\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const benchCold = path.join(tempDir(t, 'kiln-bench-'), 'cold.json');
  const cold = await build(t, ctx, cache, ['--cache-copy-layers'], { BENCHMARK_FILE: benchCold });
  assert.equal(cold.status, 0, cold.log);
  assert.deepEqual(stepOutcomes(cold.log), { 1: 'ran', 2: 'ran', 3: 'ran', 4: 'ran', 5: 'ran', 6: 'ran' });
  assert.equal(cacheEntries(cache).length, 4, 'one entry per RUN and COPY');
  assert.equal(JSON.parse(fs.readFileSync(benchCold, 'utf8'))['Cache Misses'], 4);

  const benchWarm = path.join(tempDir(t, 'kiln-bench-'), 'warm.json');
  const warm = await build(t, ctx, cache, ['--cache-copy-layers'], { BENCHMARK_FILE: benchWarm });
  assert.equal(warm.status, 0, warm.log);
  assert.deepEqual(stepOutcomes(warm.log), { 1: 'ran', 2: 'cached', 3: 'cached', 4: 'cached', 5: 'ran', 6: 'cached' });
  assert.match(warm.log, /layer cache: hit [0-9a-f]{12} for RUN/, 'the key short form at debug level');
  assert.equal(warm.digest, cold.digest, 'byte-identical image under --reproducible');
  for (const stamp of ['/stamp0', '/stamp1', '/stamp2']) assert.equal(await fileInImage(warm.layout, stamp), await fileInImage(cold.layout, stamp));
  const report = JSON.parse(fs.readFileSync(benchWarm, 'utf8'));
  assert.equal(report['Cache Hits'], 4);
  assert.equal(report['Cache Misses'], 0);

  const inspected = JSON.parse((await run('skopeo', ['inspect', `oci:${cache}:${cacheEntries(cache)[0]}`])).stdout);
  assert.equal(inspected.Layers.length, 1);
  await run('umoci', ['stat', '--image', `${cache}:${cacheEntries(cache)[1]}`]);
});

test('COPY is cached only with --cache-copy-layers (kaniko), and the RUN after it still hits', async (t) => {
  const ctx = context(t, { Dockerfile: STAMPED, 'a.txt': 'hello\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  assert.equal((await build(t, ctx, cache)).status, 0);
  assert.equal(cacheEntries(cache).length, 3, 'RUN layers only');
  const warm = await build(t, ctx, cache);
  assert.deepEqual(stepOutcomes(warm.log), { 1: 'ran', 2: 'cached', 3: 'ran', 4: 'cached', 5: 'ran', 6: 'cached' });
});

test('a changed context file re-runs its COPY and the steps after it; the steps before hit', async (t) => {
  const ctx = context(t, { Dockerfile: STAMPED, 'a.txt': 'hello\n', 'unused.txt': 'not copied\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const cold = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(cold.status, 0, cold.log);
  // A file no COPY names changes nothing; nor does a new mtime.
  fs.writeFileSync(path.join(ctx, 'unused.txt'), 'changed\n');
  fs.utimesSync(path.join(ctx, 'a.txt'), new Date(), new Date(Date.now() + 5000));
  const same = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(same.digest, cold.digest);
  fs.writeFileSync(path.join(ctx, 'a.txt'), 'changed\n');
  const changed = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(changed.status, 0, changed.log);
  assert.deepEqual(stepOutcomes(changed.log), { 1: 'ran', 2: 'cached', 3: 'ran', 4: 'ran', 5: 'ran', 6: 'ran' });
  assert.equal(await fileInImage(changed.layout, '/stamp0'), await fileInImage(cold.layout, '/stamp0'));
  assert.notEqual(await fileInImage(changed.layout, '/stamp1'), await fileInImage(cold.layout, '/stamp1'));
  assert.equal(await fileInImage(changed.layout, '/copy'), 'changed\n');
  // A mode change is a change too.
  fs.chmodSync(path.join(ctx, 'a.txt'), 0o600);
  const chmodded = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(stepOutcomes(chmodded.log)[3], 'ran');
});

test('a changed build arg re-runs the RUN steps that see it, not the ones before its ARG', async (t) => {
  const ctx = context(t, { Dockerfile: STAMPED, 'a.txt': 'hello\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const cold = await build(t, ctx, cache);
  assert.equal(cold.status, 0, cold.log);
  const other = await build(t, ctx, cache, ['--build-arg', 'X=two']);
  assert.equal(other.status, 0, other.log);
  assert.deepEqual(stepOutcomes(other.log), { 1: 'ran', 2: 'cached', 3: 'ran', 4: 'cached', 5: 'ran', 6: 'ran' });
  assert.equal(await fileInImage(other.layout, '/x'), 'two\n');
  const back = await build(t, ctx, cache, ['--build-arg', 'X=one']);
  assert.equal(back.digest, cold.digest, 'X=one is the default: the first build\'s entries serve');
});

test('a cached layer is laid into the rootfs: a new RUN after it sees its files', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN echo made-once > /f && date +%s%N > /stamp\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const cold = await build(t, ctx, cache);
  assert.equal(cold.status, 0, cold.log);
  fs.appendFileSync(path.join(ctx, 'Dockerfile'), 'RUN cat /f /stamp > /seen\n');
  for (const isolation of ['namespace', 'chroot']) {
    const warm = await build(t, ctx, cache, [`--isolation=${isolation}`]);
    assert.equal(warm.status, 0, warm.log);
    assert.equal(stepOutcomes(warm.log)[2], 'cached', isolation);
    assert.equal(await fileInImage(warm.layout, '/seen'), `made-once\n${await fileInImage(cold.layout, '/stamp')}`, isolation);
  }
});

test('--no-push-cache reads the cache but writes no entry', async (t) => {
  const ctx = context(t, { Dockerfile: STAMPED, 'a.txt': 'hello\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const readOnly = await build(t, ctx, cache, ['--no-push-cache']);
  assert.equal(readOnly.status, 0, readOnly.log);
  assert.deepEqual(cacheEntries(cache), []);
  assert.equal((await build(t, ctx, cache)).status, 0);
  const entries = cacheEntries(cache);
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), `${STAMPED}RUN echo new > /new\n`);
  const warm = await build(t, ctx, cache, ['--no-push-cache']);
  assert.equal(stepOutcomes(warm.log)[6], 'cached', 'read');
  assert.equal(stepOutcomes(warm.log)[7], 'ran');
  assert.deepEqual(cacheEntries(cache), entries, 'nothing written');
});

test('--cache-ttl: an entry older than the TTL is ignored and written again', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN date +%s%N > /stamp\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const cold = await build(t, ctx, cache);
  await new Promise((r) => setTimeout(r, 1100));
  const expired = await build(t, ctx, cache, ['--cache-ttl=1s']);
  assert.equal(expired.status, 0, expired.log);
  assert.equal(stepOutcomes(expired.log)[2], 'ran');
  assert.match(expired.log, /miss [0-9a-f]{12} for RUN \(expired\)/);
  assert.notEqual(expired.digest, cold.digest);
  const fresh = await build(t, ctx, cache, ['--cache-ttl=1h']);
  assert.equal(fresh.digest, expired.digest, 'the rewritten entry serves');
  assert.equal(cacheEntries(cache).length, 1, 'replaced, not added');
});

test('two builds sharing one cache at once both land all their entries', async (t) => {
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const lines = (n: number) => ['FROM busybox', ...Array.from({ length: 4 }, (_, i) => `RUN echo ${n}-${i} > /f${i}`), ''].join('\n');
  const ctxs = [1, 2].map((n) => context(t, { Dockerfile: lines(n) }));
  const cold = await Promise.all(ctxs.map((ctx) => build(t, ctx, cache)));
  for (const c of cold) assert.equal(c.status, 0, c.log);
  assert.equal(cacheEntries(cache).length, 8, 'no index update lost');
  assert.ok(!fs.existsSync(path.join(cache, 'index.json.lock')), 'lock released');
  const warm = await Promise.all(ctxs.map((ctx) => build(t, ctx, cache)));
  for (const [i, w] of warm.entries()) {
    assert.deepEqual(stepOutcomes(w.log), { 1: 'ran', 2: 'cached', 3: 'cached', 4: 'cached', 5: 'cached' });
    assert.equal(w.digest, cold[i].digest);
  }
});

test('a corrupted entry warns, the step runs, and the entry is repaired', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\nRUN date +%s%N > /stamp\n' });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  assert.equal((await build(t, ctx, cache)).status, 0);
  const entry = path.join(cache, 'blobs', 'sha256');
  const layer = layoutManifest(cache).layers[0].digest.split(':')[1];
  fs.writeFileSync(path.join(entry, layer), 'not a layer');
  const repaired = await build(t, ctx, cache);
  assert.equal(repaired.status, 0, repaired.log);
  assert.match(repaired.log, /level=warn.*layer cache .* is unreadable, running the step/);
  assert.equal(stepOutcomes(repaired.log)[2], 'ran');
  const warm = await build(t, ctx, cache);
  assert.equal(stepOutcomes(warm.log)[2], 'cached');
  assert.equal(warm.digest, repaired.digest);
});

test('multi-stage: each stage is keyed on its own; COPY --from keys on the source stage\'s layers', async (t) => {
  const ctx = context(t, {
    Dockerfile: [
      'FROM busybox AS gen',
      'ARG V=1',
      'RUN echo $V > /gen && date +%s%N > /genstamp',
      'FROM busybox',
      'WORKDIR /work',
      'RUN date +%s%N > /stamp',
      'COPY --from=gen /gen /gen',
      'RUN cat /gen > /out',
      '',
    ].join('\n'),
  });
  const cache = path.join(tempDir(t, 'kiln-cache-'), 'layers');
  const cold = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(cold.status, 0, cold.log);
  const warm = await build(t, ctx, cache, ['--cache-copy-layers']);
  assert.equal(warm.digest, cold.digest);
  assert.equal([...warm.log.matchAll(/done \(CACHED\)/g)].length, 5, 'every RUN, COPY and WORKDIR of both stages came from the cache');
  assert.doesNotMatch(warm.log, /RUN isolation/, 'no sandbox was started');
  const changed = await build(t, ctx, cache, ['--cache-copy-layers', '--build-arg', 'V=2']);
  assert.equal(changed.status, 0, changed.log);
  assert.equal(await fileInImage(changed.layout, '/stamp'), await fileInImage(cold.layout, '/stamp'), 'the second stage\'s first RUN hits');
  assert.equal(await fileInImage(changed.layout, '/out'), '2\n', 'COPY --from and the RUN after it see the new stage');
});

test('--cache with --no-push and no --cache-repo is a usage error', async (t) => {
  const ctx = context(t, { Dockerfile: 'FROM busybox\n' });
  const r = await kiln(['build', '-c', ctx, '--no-push', '--cache=true', '--tar-path', path.join(tempDir(t, 'kiln-out-'), 'i.tar')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /specify cache repo with --cache-repo/);
});
