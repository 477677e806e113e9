// The offline busybox and busybox-compat layouts are identical to the corpus' reference bases, and the checker
// that says so does notice differences.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { baseImageLayout } from '../env/base-images.ts';
import { compareBase, isVolatilePath, loadBaseReference, summarizeBaseLayout } from '../env/check-base.ts';
import { conformanceDir } from '../env/paths.ts';
import { run } from '../env/run.ts';
import { conformanceCorpus } from '../env/requirements.ts';

const corpus = conformanceDir();
const noCorpus = conformanceCorpus('reference/_bases').skip;

test('busybox layout is a valid OCI layout with ref latest', async () => {
  const layout = await baseImageLayout('busybox');
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], 'latest');
  const inspected = JSON.parse((await run('skopeo', ['inspect', `oci:${layout}:latest`])).stdout);
  assert.equal(inspected.Os, 'linux');
  assert.equal(inspected.Architecture, 'amd64');
  assert.equal(inspected.Layers.length, 1);
  assert.equal(await baseImageLayout('busybox'), layout, 'second call uses the cache');
});

test('busybox equals reference/_bases/busybox.json', { skip: noCorpus }, async () => {
  const reference = loadBaseReference('busybox');
  assert.ok(reference, 'reference base summary');
  const summary = await summarizeBaseLayout(await baseImageLayout('busybox'), 'latest');
  assert.equal(Object.keys(summary.files).length, 285);
  assert.deepEqual(compareBase(reference, summary, true), { platform: [], config: [], history: [], layers: [], files: [] });
});

test('busybox-compat equals reference/_bases/busybox-compat.json', { skip: noCorpus }, async () => {
  const reference = loadBaseReference('busybox-compat');
  assert.ok(reference && corpus, 'reference base summary');
  const summary = await summarizeBaseLayout(await baseImageLayout('busybox-compat'), 'latest');
  assert.equal(summary.history.length, 5);
  assert.deepEqual(compareBase(reference, summary, true), { platform: [], config: [], history: [], layers: [], files: [] });
});

test('the base check reports differences when there are some', { skip: noCorpus }, async () => {
  const reference = loadBaseReference('busybox-compat');
  assert.ok(reference, 'reference base summary');
  const busybox = await summarizeBaseLayout(await baseImageLayout('busybox'), 'latest');
  const check = compareBase(reference, busybox, true);
  assert.ok(check.files.includes('missing /bin/adduser'));
  assert.ok(check.files.some((line) => line.startsWith('/etc/passwd: sha256 ')));
  assert.equal(check.history.length, 1);
  assert.equal(check.layers.length, 2);

  const changed = structuredClone(busybox);
  changed.files['/tmp'].mode = '0755';
  changed.files['/bin/ls'].target = 'busybox';
  changed.files['/etc/extra'] = { type: 'file', mode: '0644', uid: 0, gid: 0, size: 0, sha256: 'x' };
  changed.config.Cmd = ['sh'];
  assert.deepEqual(compareBase(loadBaseReference('busybox')!, changed, true), {
    platform: [], history: [], layers: [],
    config: ['config.Cmd: expected ["/bin/sh"], got ["sh"]'],
    files: ['/bin/ls: target "/bin/busybox" != "busybox"', '/tmp: mode "1777" != "0755"', 'unexpected /etc/extra'],
  });
});

test('volatile patterns follow the corpus rules', () => {
  assert.ok(isVolatilePath('/var/log/dpkg.log'));
  assert.ok(isVolatilePath('/var/log/apt/history.log'));
  assert.ok(isVolatilePath('/usr/lib/python3/__pycache__/x.cpython.pyc'));
  assert.ok(isVolatilePath('/var/cache/debconf/config.dat'));
  assert.ok(!isVolatilePath('/var/cache/debconf/sub/config.dat'));
  assert.ok(!isVolatilePath('/etc/shadow'));
  assert.ok(!isVolatilePath('/var/lib/dpkg/status'));
  assert.ok(isVolatilePath('/var/lib/dpkg/status-old'));
});

test('cache dir holds no leftovers of builds', async () => {
  await baseImageLayout('busybox');
  const layout = await baseImageLayout('busybox');
  assert.equal(existsSync(`${layout}.lock`), false);
  assert.equal(existsSync(`${layout}.tmp-${process.pid}`), false);
});
