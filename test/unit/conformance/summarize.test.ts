import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import tar from 'tar-stream';
import { summarizeLayout } from '../../conformance/summarize.ts';
import { compareWithReference, globToRegExp, type Reference } from '../../conformance/compare.ts';

type Entry = Partial<tar.Header> & { name: string; body?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => { chunks.push(c as Buffer); });
  const done = new Promise<void>((r) => { pack.on('end', () => r()); });
  for (const { body, ...h } of entries) pack.entry(h as tar.Header, body ?? '');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function writeBlob(layout: string, data: Buffer): string {
  const hex = crypto.createHash('sha256').update(data).digest('hex');
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', hex), data);
  return `sha256:${hex}`;
}

async function makeLayout(t: { after(fn: () => void): void }, layers: Entry[][], config: object): Promise<string> {
  const layout = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-summary-'));
  t.after(() => fs.rmSync(layout, { recursive: true, force: true }));
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  const layerDescs = [];
  for (const entries of layers) {
    const blob = zlib.gzipSync(await tarOf(entries));
    layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: writeBlob(layout, blob), size: blob.length });
  }
  const cfg = Buffer.from(JSON.stringify(config));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: writeBlob(layout, cfg), size: cfg.length }, layers: layerDescs,
  }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: writeBlob(layout, manifest), size: manifest.length }] }));
  return layout;
}

const config = { os: 'linux', architecture: 'amd64', config: { Env: ['A=1'], ExposedPorts: { '80/tcp': {} }, Cmd: [] }, history: [{ created_by: 'COPY x / # buildkit' }] };

test('summary applies whiteouts, opaque dirs, replacements, hard links and implicit parents', async (t) => {
  const layout = await makeLayout(t, [
    [
      { name: 'a/', type: 'directory', mode: 0o755 },
      { name: 'a/old', type: 'file', mode: 0o644, body: 'old' },
      { name: 'b/', type: 'directory', mode: 0o700 },
      { name: 'b/keep', type: 'file', mode: 0o644, body: 'k' },
      { name: 'c/deep/file', type: 'file', mode: 0o4755, uid: 1000, gid: 1000, body: 'x' },
      { name: 'c/other', type: 'file', mode: 0o644, body: 'o' },
      { name: 'link', type: 'symlink', linkname: '/a/old', mode: 0o755 },
    ],
    [
      { name: 'a/.wh..wh..opq', type: 'file', mode: 0o644 },
      { name: 'a/new', type: 'file', mode: 0o600, body: 'new' },
      { name: 'a/new2', type: 'link', linkname: 'a/new' },
      { name: 'b/', type: 'directory', mode: 0o750 },
      { name: 'c/.wh.deep', type: 'file', mode: 0o644 },
      { name: 'link', type: 'file', mode: 0o644, body: '' },
    ],
  ], config);
  const s = await summarizeLayout(layout);
  assert.deepEqual(Object.keys(s.files!), ['/a', '/a/new', '/a/new2', '/b', '/b/keep', '/c', '/c/other', '/link']);
  assert.equal(s.files!['/a/new'].link, '/a/new');
  assert.equal(s.files!['/a/new2'].link, '/a/new');
  assert.equal(s.files!['/a/new2'].sha256, crypto.createHash('sha256').update('new').digest('hex'));
  assert.equal(s.files!['/b'].mode, '0750');
  assert.equal(s.files!['/c'].implicit, true);
  assert.equal(s.files!['/link'].type, 'file');
  assert.equal(s.layers, 2);
  assert.deepEqual(s.config!.ExposedPorts, ['80/tcp']);
  assert.equal(s.config!.Cmd, null);
  assert.equal(s.config!.ArgsEscaped, false);
});

test('comparison fails on a file difference, ignores runtime paths and treats history as a warning', async (t) => {
  const layout = await makeLayout(t, [[{ name: 'f', type: 'file', mode: 0o644, body: 'v' }, { name: 'etc/hosts', type: 'file', mode: 0o644, body: 'h' }]], config);
  const s = await summarizeLayout(layout);
  const ref: Reference = { ...structuredClone(s), history: [{ created_by: 'COPY y /', empty_layer: false }] };
  delete ref.files!['/etc/hosts'];
  const ok = compareWithReference(s, ref, '/nonexistent');
  assert.equal(ok.pass, true, ok.difference);
  assert.match(ok.warnings[0], /history\[0\]/);
  ref.files!['/f'] = { ...ref.files!['/f'], mode: '0600' };
  const bad = compareWithReference(s, ref, '/nonexistent');
  assert.equal(bad.pass, false);
  assert.match(bad.difference!, /\/f: mode "0644", expected "0600"/);
  assert.equal(compareWithReference(undefined, { build: 'fails' }, '/x').pass, true);
  assert.equal(compareWithReference(s, { build: 'fails' }, '/x').pass, false);
});

test('/etc/shadow and /etc/shadow- count by presence and type only (the day of the last password change)', () => {
  const entry = (sha256: string) => ({ type: 'file' as const, mode: '0640', uid: 0, gid: 42, size: 10, sha256 });
  const summary = (files: Record<string, ReturnType<typeof entry>>) => ({ schema: 'kiln-conformance/v1', build: 'ok' as const, files });
  const ref = summary({ '/etc/shadow': entry('a'), '/etc/shadow-': entry('b'), '/etc/passwd': entry('c') });
  const verdict = compareWithReference(summary({ '/etc/shadow': entry('x'), '/etc/shadow-': entry('y'), '/etc/passwd': entry('c') }), ref, '/x');
  assert.equal(verdict.pass, true, verdict.difference);
  assert.match(compareWithReference(summary({ '/etc/shadow-': entry('y'), '/etc/passwd': entry('c') }), ref, '/x').difference!, /missing \/etc\/shadow /);
  assert.match(compareWithReference(summary({ '/etc/shadow': entry('a'), '/etc/shadow-': entry('b'), '/etc/passwd': entry('z') }), ref, '/x').difference!, /\/etc\/passwd: sha256/);
});

test('presence-only glob patterns', () => {
  assert.ok(globToRegExp('/var/log/**').test('/var/log/apt/history.log'));
  assert.ok(globToRegExp('**/*.pyc').test('/usr/lib/x/y.pyc'));
  assert.ok(!globToRegExp('/var/cache/debconf/*').test('/var/cache/debconf/a/b'));
});
