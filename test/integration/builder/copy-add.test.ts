/**
 * ADD of local archives: compression found by content, archive owners kept unless --chown, implicit parents,
 * no escape from the destination, non-archives copied as they are; and COPY of here-documents. The last test
 * extracts the busybox rootfs of the dl-busybox-rootfs conformance case and compares the tree with what
 * BuildKit produced (skipped when the conformance data is absent).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tarStream from 'tar-stream';
import { copyFiles, type CopyRequest } from '../../../src/builder/copy/copy-files.ts';
import { parseChmod } from '../../../src/builder/copy/chmod.ts';
import { writeHeredocFile } from '../../../src/builder/copy/heredoc-source.ts';
import { makeTree, summarize, tempDir } from './copy-tree-helpers.ts';
import { conformanceCorpus } from '../../env/requirements.ts';

function add(context: string, rootfs: string, srcPath: string, dest: string, extra: Partial<CopyRequest> = {}) {
  return copyFiles({ srcRoot: context, srcPath, dstRoot: rootfs, dest, followSymlinks: true, unpack: true, ownership: 'root', ...extra });
}

/** A tar made by GNU tar from a small tree: owners, a symlink, a hard link, a 0750 directory. */
function makeArchiveTree(dir: string): void {
  makeTree(dir, {
    'top': { dir: 0o750, uid: 11, gid: 12 },
    'top/file': { file: 'content\n', mode: 0o640, uid: 1234, gid: 5678 },
    'top/exe': { file: '#!/bin/sh\n', mode: 0o4755 },
    'top/link': { link: 'file' },
  });
  execFileSync('ln', [join(dir, 'top/file'), join(dir, 'top/hard')]);
}

const EXPECTED_ARCHIVE_TREE = {
  '/out': 'dir 0755 0:0',
  '/out/top': 'dir 0750 11:12',
  '/out/top/exe': 'file 4755 0:0 #!/bin/sh\n',
  '/out/top/file': 'file 0640 1234:5678 content\n',
  '/out/top/hard': 'file 0640 1234:5678 content\n',
  '/out/top/link': 'symlink 0777 0:0 -> file',
};

describe('ADD of local archives', () => {
  for (const [name, compressor] of [
    ['t.tar', undefined],
    ['t.tar.gz', 'gzip'],
    ['t.tar.bz2', 'bzip2'],
    ['t.tar.xz', 'xz'],
    ['t.tar.zst', 'zstd'],
  ] as const) {
    it(`extracts ${name}, keeping the archive's owners, modes and links`, async (t) => {
      const tree = tempDir(t, 'tree');
      const context = tempDir(t, 'ctx');
      const rootfs = tempDir(t, 'rootfs');
      makeArchiveTree(tree);
      const tarPath = join(context, 't.tar');
      execFileSync('tar', ['--numeric-owner', '-C', tree, '-cf', tarPath, 'top']);
      if (compressor !== undefined) {
        execFileSync(compressor, compressor === 'zstd' ? ['-q', '--rm', tarPath, '-o', join(context, name)] : [tarPath]);
      }
      assert.ok(existsSync(join(context, name)));
      const result = await add(context, rootfs, name, '/out/');
      assert.deepEqual(summarize(rootfs), EXPECTED_ARCHIVE_TREE);
      assert.equal(lstatSync(join(rootfs, 'out/top/file')).ino, lstatSync(join(rootfs, 'out/top/hard')).ino);
      assert.deepEqual(result.changed, ['/out', '/out/top', '/out/top/exe', '/out/top/file', '/out/top/hard', '/out/top/link']);
      assert.equal(lstatSync(join(rootfs, 'out/top')).mtimeMs, lstatSync(join(tree, 'top')).mtimeMs - (lstatSync(join(tree, 'top')).mtimeMs % 1000));
    });
  }

  it('gives every entry and the created destination the --chown owner, implicit parents stay root (bk-add-chown-archive)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    const pack = tarStream.pack();
    pack.entry({ name: 'foo', mode: 0o644, uid: 0, gid: 0, mtime: new Date(1_500_000_000_000) }, 'content0');
    pack.entry({ name: 'deep/er/bar', mode: 0o600, uid: 3, gid: 4 }, 'content1');
    pack.finalize();
    writeFileSync(join(context, 't.tar'), await streamToBuffer(pack));
    await add(context, rootfs, 't.tar', '/out/', { chown: { uid: 100, gid: 200 }, chmod: parseChmod('0777') });
    assert.deepEqual(summarize(rootfs), {
      '/out': 'dir 0755 100:200',
      '/out/deep': 'dir 0755 0:0',
      '/out/deep/er': 'dir 0755 0:0',
      '/out/deep/er/bar': 'file 0600 100:200 content1',
      '/out/foo': 'file 0644 100:200 content0',
    });
    assert.equal(lstatSync(join(rootfs, 'out/foo')).mtimeMs, 1_500_000_000_000);
  });

  it('extracts every archive a wildcard matches into the destination (bk-add-archive-wildcard)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    for (const [file, entry, content] of [['t.tar', 'foo', 'content0'], ['b.tar', 'bar', 'content1']]) {
      const pack = tarStream.pack();
      pack.entry({ name: entry, mode: 0o644 }, content);
      pack.finalize();
      writeFileSync(join(context, file), await streamToBuffer(pack));
    }
    const result = await add(context, rootfs, '*.tar', '/dest');
    assert.equal(result.matched, 2);
    assert.deepEqual(summarize(rootfs), { '/dest': 'dir 0755 0:0', '/dest/bar': 'file 0644 0:0 content1', '/dest/foo': 'file 0644 0:0 content0' });
  });

  it('copies files that are not tar archives as they are', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, { 'notes.txt': { file: 'x'.repeat(2000), mode: 0o644 }, 'short': { file: 'hi', mode: 0o600 } });
    execFileSync('gzip', ['-k', join(context, 'notes.txt')]);
    await add(context, rootfs, 'notes.txt.gz', '/n/');
    await add(context, rootfs, 'short', '/s');
    await add(context, rootfs, 'notes.txt', '/t');
    const tree = summarize(rootfs);
    assert.equal(tree['/n/notes.txt.gz'].startsWith('file 0644 0:0'), true);
    assert.equal(tree['/s'], 'file 0600 0:0 hi');
    assert.equal(tree['/t'], `file 0644 0:0 ${'x'.repeat(2000)}`);
    // COPY never extracts.
    const tar = join(context, 'a.tar');
    execFileSync('tar', ['-C', context, '-cf', tar, 'short']);
    await copyFiles({ srcRoot: context, srcPath: 'a.tar', dstRoot: rootfs, dest: '/copied.tar', followSymlinks: true, unpack: false, ownership: 'root' });
    assert.equal(summarize(rootfs)['/copied.tar'].startsWith('file 0644 0:0'), true);
  });

  it('keeps entries and link targets inside the destination', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    const outside = tempDir(t, 'outside');
    const pack = tarStream.pack();
    pack.entry({ name: 'etc', type: 'symlink', linkname: outside });
    pack.entry({ name: 'etc/passwd', mode: 0o644 }, 'inside');
    pack.entry({ name: 'up', type: 'symlink', linkname: '../../../../..' });
    pack.entry({ name: 'up/escaped', mode: 0o644 }, 'inside too');
    pack.finalize();
    writeFileSync(join(context, 'evil.tar'), await streamToBuffer(pack));
    await add(context, rootfs, 'evil.tar', '/x/');
    assert.deepEqual(readdirSync(outside), []);
    assert.equal(readFileSync(join(rootfs, 'x', outside, 'passwd'), 'utf8'), 'inside');
    assert.equal(readFileSync(join(rootfs, 'x/escaped'), 'utf8'), 'inside too');

    const climb = tarStream.pack();
    climb.entry({ name: '../../evil', mode: 0o644 }, 'no');
    climb.finalize();
    writeFileSync(join(context, 'climb.tar'), await streamToBuffer(climb));
    await assert.rejects(add(context, rootfs, 'climb.tar', '/y/'), /outside extraction root/);
  });
});

describe('COPY of here-documents', () => {
  it('writes a 0644 root-owned file named after the heredoc, inside a directory destination', async (t) => {
    const rootfs = tempDir(t, 'rootfs');
    await writeHeredocFile({ name: 'EOF', content: 'hello\n', dstRoot: rootfs, dest: '/dest' });
    await writeHeredocFile({ name: 'script.sh', content: '#!/bin/sh\n', dstRoot: rootfs, dest: '/bin/', chmod: parseChmod('755'), chown: { uid: 1, gid: 2 } });
    await writeHeredocFile({ name: 'f*?', content: 'literal', dstRoot: rootfs, dest: '/lit/', sourceDateEpoch: 1_600_000_000 });
    const tree = summarize(rootfs);
    assert.equal(tree['/dest'], 'file 0644 0:0 hello\n');
    assert.equal(tree['/bin'], 'dir 0755 1:2');
    assert.equal(tree['/bin/script.sh'], 'file 0755 1:2 #!/bin/sh\n');
    assert.equal(tree['/lit/f*?'], 'file 0644 0:0 literal');
    assert.equal(lstatSync(join(rootfs, 'lit/f*?')).mtimeMs, 1_600_000_000_000);
  });
});

describe('conformance: dl-busybox-rootfs (ADD busybox.tar.gz /)', () => {
  const corpus = conformanceCorpus('cases/dl-busybox-rootfs/busybox.tar.gz');
  const conformance = corpus.dir ?? '';

  it('extracts the same tree as BuildKit', { skip: corpus.skip }, async (t) => {
    const reference = JSON.parse(readFileSync(join(conformance, 'reference/dl-busybox-rootfs.json'), 'utf8'));
    const base = JSON.parse(readFileSync(join(conformance, `reference/_bases/${reference.files_base}.json`), 'utf8'));
    const expected: Record<string, Record<string, unknown>> = { ...base.files };
    for (const removed of reference.files_removed ?? []) delete expected[removed];
    Object.assign(expected, reference.files);

    const context = join(conformance, 'cases/dl-busybox-rootfs');
    const rootfs = tempDir(t, 'rootfs');
    await add(context, rootfs, 'busybox.tar.gz', '/');
    const actual = summarizeLikeReference(rootfs);
    const fields = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'link'];
    const pick = (entry: Record<string, unknown>) => Object.fromEntries(fields.filter((f) => entry[f] !== undefined).map((f) => [f, entry[f]]));
    assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).filter((p) => !p.startsWith('/dev/') && !p.startsWith('/proc/') && !p.startsWith('/sys/')).sort());
    for (const path of Object.keys(actual)) assert.deepEqual(pick(actual[path]), pick(expected[path]), path);
  });
});

/** The conformance summary of a directory tree: files with size and sha256, links with targets, hard-link groups. */
function summarizeLikeReference(root: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const groups = new Map<number, string[]>();
  const walk = (host: string, rel: string): void => {
    for (const name of readdirSync(host).sort()) {
      const path = `${rel}/${name}`;
      const childHost = join(host, name);
      const stats = lstatSync(childHost);
      const entry: Record<string, unknown> = { uid: stats.uid, gid: stats.gid, mode: (stats.mode & 0o7777).toString(8).padStart(4, '0') };
      if (stats.isDirectory()) entry.type = 'dir';
      else if (stats.isSymbolicLink()) Object.assign(entry, { type: 'symlink', target: readlinkSync(childHost) });
      else if (stats.isFile()) {
        const data = readFileSync(childHost);
        Object.assign(entry, { type: 'file', size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
        if (stats.nlink > 1) groups.set(stats.ino, [...(groups.get(stats.ino) ?? []), path]);
      } else entry.type = 'other';
      if (path.startsWith('/dev/') || path.startsWith('/proc/') || path.startsWith('/sys/')) continue;
      out[path] = entry;
      if (stats.isDirectory()) walk(childHost, path);
    }
  };
  walk(root, '');
  for (const paths of groups.values()) {
    if (paths.length < 2) continue;
    const first = [...paths].sort()[0];
    for (const path of paths) out[path].link = first;
  }
  return out;
}

async function streamToBuffer(stream: tarStream.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
