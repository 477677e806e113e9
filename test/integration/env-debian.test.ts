// debian:bookworm made with debootstrap (≈ 30–60 s the first time, cached afterwards) is cleaned like the
// official image and matches the corpus' reference base up to package-version drift.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { baseImageLayout } from '../env/base-images.ts';
import { compareBase, loadBaseReference, summarizeBaseLayout, type BaseSummary } from '../env/check-base.ts';
import { debianSources, shadowLastChangeDay } from '../env/debian-recipe.ts';
import { conformanceCorpus } from '../env/requirements.ts';

const buildTimeoutMs = 15 * 60 * 1000;

let summaryPromise: Promise<BaseSummary> | undefined;
function debianSummary(): Promise<BaseSummary> {
  summaryPromise ??= baseImageLayout('debian').then((layout) => summarizeBaseLayout(layout, 'bookworm'));
  return summaryPromise;
}

const under = (files: BaseSummary['files'], dir: string) => Object.keys(files).filter((p) => p.startsWith(`${dir}/`));

test('debian rootfs is cleaned the way the official image is', { timeout: buildTimeoutMs }, async () => {
  const { files, config, history } = await debianSummary();
  assert.ok(Object.keys(files).length > 5000, 'a whole Debian root filesystem');
  assert.equal(files['/bin']?.target, 'usr/bin', 'merged /usr');
  assert.equal(files['/dev']?.type, 'dir');
  assert.deepEqual(under(files, '/dev'), []);
  for (const gone of ['/etc/resolv.conf', '/etc/hostname', '/etc/apt/sources.list', '/var/log/bootstrap.log']) {
    assert.equal(files[gone], undefined, gone);
  }
  assert.deepEqual(under(files, '/var/lib/apt/lists'), ['/var/lib/apt/lists/partial']);
  assert.deepEqual(under(files, '/var/cache/apt/archives'), ['/var/cache/apt/archives/partial']);
  assert.deepEqual(under(files, '/var/cache/apt').filter((p) => p.endsWith('.bin')), []);
  assert.deepEqual(Object.keys(files).filter((p) => /^\/var\/(cache\/debconf|lib\/dpkg)\/[^/]*-old$/.test(p)), []);
  const sources = files['/etc/apt/sources.list.d/debian.sources'];
  assert.equal(sources?.sha256, createHash('sha256').update(debianSources).digest('hex'));
  assert.equal(sources?.mode, '0644');
  assert.equal(files['/etc/shadow']?.mode, '0640');
  assert.equal(files['/etc/shadow']?.gid, 42, 'group shadow');
  assert.deepEqual(config.Cmd, ['bash']);
  assert.equal(config.WorkingDir, null);
  assert.deepEqual(history, [
    { created_by: 'debootstrap --variant=minbase bookworm (cleaned)', empty_layer: false },
    { created_by: 'umoci config', empty_layer: true },
  ]);
  assert.ok(shadowLastChangeDay > 19000);
});

test('debian matches reference/_bases/debian-bookworm.json up to package updates', { timeout: buildTimeoutMs, skip: conformanceCorpus('reference/_bases').skip }, async (t) => {
  const reference = loadBaseReference('debian-bookworm');
  assert.ok(reference, 'reference base summary');
  const check = compareBase(reference, await debianSummary());
  assert.deepEqual([check.platform, check.config, check.history, check.layers], [[], [], [], []]);
  // Package updates since the reference change file contents (expected); the file set and metadata of a
  // minbase system stay put, so more than 1% of paths differing in anything else means a broken recipe.
  const contentOnly = check.files.filter((line) => /: (sha256|size) /.test(line));
  const structural = check.files.filter((line) => !contentOnly.includes(line));
  t.diagnostic(`${check.files.length} differences, ${contentOnly.length} in content only`);
  for (const line of structural.slice(0, 20)) t.diagnostic(line);
  assert.ok(structural.length <= Object.keys(reference.files).length / 100,
    `${structural.length} structural differences:\n${structural.slice(0, 40).join('\n')}`);
  assert.equal(check.files.some((line) => line.startsWith('/etc/apt/') || line.startsWith('/etc/shadow:')), false,
    check.files.filter((line) => line.startsWith('/etc/')).join('\n'));
});
