/**
 * COPY semantics on real trees, with small inputs modelled on the BuildKit conformance cases
 * (bk-copy-wildcards, bk-copy-symlinks, bk-copy-override-files, bk-copy-parents, bk-copy-relative,
 * bk-copy-chown-existing-dir, kaniko-copy-symlink, kaniko-copyadd-chmod, kaniko-issue-2075-setuid).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { copyFiles, type CopyRequest } from '../../../src/builder/copy/copy-files.ts';
import { parseChmod } from '../../../src/builder/copy/chmod.ts';
import { KilnError } from '../../../src/errors.ts';
import { describeTree, makeTree, summarize, tempDir } from './copy-tree-helpers.ts';

function contextFor(t: TestContext): { context: string; rootfs: string } {
  const context = tempDir(t, 'ctx');
  const rootfs = tempDir(t, 'rootfs');
  makeTree(context, {
    'Dockerfile': { file: 'FROM scratch\n', mode: 0o644 },
    'foo.go': { file: 'foo-contents', mode: 0o600 },
    'bar.go': { file: 'bar-contents', mode: 0o600 },
    'sub': { dir: 0o700 },
    'sub/dir1': { dir: 0o700 },
    'sub/dir1/dir2': { dir: 0o700 },
    'sub/dir1/dir2/foo': { file: 'foo-contents', mode: 0o600 },
  });
  return { context, rootfs };
}

function copy(context: string, rootfs: string, srcPath: string, dest: string, extra: Partial<CopyRequest> = {}) {
  return copyFiles({ srcRoot: context, srcPath, dstRoot: rootfs, dest, followSymlinks: true, unpack: false, ownership: 'root', ...extra });
}

describe('COPY from a build context', () => {
  it('expands wildcards and places files and directory contents as BuildKit (bk-copy-wildcards)', async (t) => {
    const { context, rootfs } = contextFor(t);
    assert.equal((await copy(context, rootfs, '*.go', '/gofiles/')).matched, 2);
    await copy(context, rootfs, 'f*.go', '/foo2.go');
    await copy(context, rootfs, 'sub/*', '/subdest/');
    await copy(context, rootfs, 'sub/*/dir2/foo', '/subdest2/');
    await copy(context, rootfs, 'sub/*/dir2/foo', '/subdest3/bar');
    await copy(context, rootfs, '.', '/all/');
    await copy(context, rootfs, 'sub/dir1/', '/subdest4');
    await copy(context, rootfs, 'sub/dir1/.', '/subdest5');
    await copy(context, rootfs, 'sub/dir1', '/subdest6');
    const tree = summarize(rootfs);
    assert.deepEqual(tree, {
      '/all': 'dir 0755 0:0',
      '/all/Dockerfile': 'file 0644 0:0 FROM scratch\n',
      '/all/bar.go': 'file 0600 0:0 bar-contents',
      '/all/foo.go': 'file 0600 0:0 foo-contents',
      '/all/sub': 'dir 0700 0:0',
      '/all/sub/dir1': 'dir 0700 0:0',
      '/all/sub/dir1/dir2': 'dir 0700 0:0',
      '/all/sub/dir1/dir2/foo': 'file 0600 0:0 foo-contents',
      '/foo2.go': 'file 0600 0:0 foo-contents',
      '/gofiles': 'dir 0755 0:0',
      '/gofiles/bar.go': 'file 0600 0:0 bar-contents',
      '/gofiles/foo.go': 'file 0600 0:0 foo-contents',
      '/subdest': 'dir 0755 0:0',
      '/subdest/dir2': 'dir 0700 0:0',
      '/subdest/dir2/foo': 'file 0600 0:0 foo-contents',
      '/subdest2': 'dir 0755 0:0',
      '/subdest2/foo': 'file 0600 0:0 foo-contents',
      '/subdest3': 'dir 0755 0:0',
      '/subdest3/bar': 'file 0600 0:0 foo-contents',
      '/subdest4': 'dir 0755 0:0',
      '/subdest4/dir2': 'dir 0700 0:0',
      '/subdest4/dir2/foo': 'file 0600 0:0 foo-contents',
      '/subdest5': 'dir 0755 0:0',
      '/subdest5/dir2': 'dir 0700 0:0',
      '/subdest5/dir2/foo': 'file 0600 0:0 foo-contents',
      '/subdest6': 'dir 0755 0:0',
      '/subdest6/dir2': 'dir 0700 0:0',
      '/subdest6/dir2/foo': 'file 0600 0:0 foo-contents',
    });
  });

  it('reports created and copied paths, sorted, including created parents', async (t) => {
    const { context, rootfs } = contextFor(t);
    const result = await copy(context, rootfs, 'sub', '/a/b/');
    assert.deepEqual(result.changed, ['/a', '/a/b', '/a/b/dir1', '/a/b/dir1/dir2', '/a/b/dir1/dir2/foo']);
    const again = await copy(context, rootfs, 'foo.go', '/a/b/');
    assert.deepEqual(again.changed, ['/a/b/foo.go']);
  });

  it('fails on a missing source, ignores an empty wildcard, fails on a missing wildcard directory', async (t) => {
    const { context, rootfs } = contextFor(t);
    await assert.rejects(copy(context, rootfs, 'nope', '/x'), (err: unknown) => err instanceof KilnError && err.code === 'COPY_SOURCE_NOT_FOUND' && err.message === '"/nope": not found');
    const empty = await copy(context, rootfs, '*.rs', '/x/');
    assert.deepEqual(empty, { changed: [], matched: 0 });
    assert.equal(existsSync(join(rootfs, 'x')), false);
    await assert.rejects(copy(context, rootfs, 'folder/b/*', '/x/'), (err: unknown) => err instanceof KilnError && err.message === 'lstat /folder/b: no such file or directory');
  });

  it('follows the source symlink, copies symlinks inside trees as links (bk-copy-symlinks, kaniko-copy-symlink)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, {
      'bar': { file: 'bar-contents', mode: 0o600 },
      'foo': { link: 'bar' },
      'sub': { dir: 0o700 },
      'sub/baz': { file: 'baz-contents', mode: 0o600 },
      'sub/subfile': { file: 'subfile-contents', mode: 0o600 },
      'sub/lfile': { file: 'lfile-contents', mode: 0o600 },
      'sub/l0': { link: 'subfile' },
      'sub/l1': { link: 'second' },
      'sub/second': { link: 'baz' },
      'temp': { dir: 0o755 },
      'temp/target': { file: 'hello\n', mode: 0o644 },
      'temp/link': { link: 'target' },
      'workdir': { dir: 0o755 },
      'workdir/relative_link': { link: '../temp/target' },
      'escape': { link: '../../../../etc/hostname' },
    });
    await copy(context, rootfs, 'foo', '/');
    await copy(context, rootfs, 'sub/l*', '/alllinks/');
    await copy(context, rootfs, 'temp/', '/dest/');
    await copy(context, rootfs, '/workdir/relative_link', '/workdirAnother/');
    assert.deepEqual(summarize(rootfs), {
      '/alllinks': 'dir 0755 0:0',
      '/alllinks/l0': 'file 0600 0:0 subfile-contents',
      '/alllinks/l1': 'file 0600 0:0 baz-contents',
      '/alllinks/lfile': 'file 0600 0:0 lfile-contents',
      '/dest': 'dir 0755 0:0',
      '/dest/link': 'symlink 0777 0:0 -> target',
      '/dest/target': 'file 0644 0:0 hello\n',
      '/foo': 'file 0600 0:0 bar-contents',
      '/workdirAnother': 'dir 0755 0:0',
      '/workdirAnother/relative_link': 'file 0644 0:0 hello\n',
    });
    // A source link cannot lead out of the context: it resolves inside it, where nothing is.
    await assert.rejects(copy(context, rootfs, 'escape', '/e'), (err: unknown) => err instanceof KilnError && err.code === 'COPY_SOURCE_NOT_FOUND');
  });

  it('copies over earlier copies and keeps the top-level destination metadata (bk-copy-override-files)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, {
      'sub': { dir: 0o700 },
      'sub/dir1': { dir: 0o700 },
      'sub/dir1/dir2': { dir: 0o700 },
      'sub/dir1/dir2/foo': { file: 'foo-contents', mode: 0o600 },
      'files': { dir: 0o700 },
      'files/foo.go': { file: 'foo.go-contents', mode: 0o600 },
    });
    await copy(context, rootfs, 'sub', '/sub');
    await copy(context, rootfs, 'sub', '/sub');
    await copy(context, rootfs, 'files/foo.go', '/dest/foo.go');
    await copy(context, rootfs, 'files/foo.go', '/dest/foo.go');
    await copy(context, rootfs, 'files', '/dest');
    assert.deepEqual(summarize(rootfs), {
      '/dest': 'dir 0755 0:0',
      '/dest/foo.go': 'file 0600 0:0 foo.go-contents',
      '/sub': 'dir 0755 0:0',
      '/sub/dir1': 'dir 0700 0:0',
      '/sub/dir1/dir2': 'dir 0700 0:0',
      '/sub/dir1/dir2/foo': 'file 0600 0:0 foo-contents',
    });
  });

  it('copies a file into an existing directory and refuses to mix files and directories', async (t) => {
    const { context, rootfs } = contextFor(t);
    mkdirSync(join(rootfs, 'existing'));
    await copy(context, rootfs, 'foo.go', '/existing');
    assert.equal(readFileSync(join(rootfs, 'existing/foo.go'), 'utf8'), 'foo-contents');
    writeFileSync(join(rootfs, 'plain'), 'x');
    await assert.rejects(copy(context, rootfs, 'sub', '/plain'), /cannot copy to non-directory/);
    makeTree(rootfs, { 'd/dir2': { file: 'a file', mode: 0o644 }, 'e/foo': { dir: 0o755 } });
    await assert.rejects(copy(context, rootfs, 'sub/dir1', '/d'), (err: unknown) => (err as Error).message === 'cannot copy to non-directory: /d/dir2');
    await assert.rejects(copy(context, rootfs, 'sub/dir1/dir2', '/e'), (err: unknown) => (err as Error).message === 'cannot replace to directory /e/foo with file');
  });

  it('keeps paths relative to WORKDIR as the caller resolved them (bk-copy-relative)', async (t) => {
    const { context, rootfs } = contextFor(t);
    mkdirSync(join(rootfs, 'test1/test2'), { recursive: true });
    await copy(context, rootfs, 'foo.go', '/test1/test2/');
    await copy(context, rootfs, 'foo.go', '/test1/test2/bar/baz');
    await copy(context, rootfs, 'foo.go', '/test5/');
    const tree = summarize(rootfs);
    assert.equal(tree['/test1/test2/foo.go'], 'file 0600 0:0 foo-contents');
    assert.equal(tree['/test1/test2/bar'], 'dir 0755 0:0');
    assert.equal(tree['/test1/test2/bar/baz'], 'file 0600 0:0 foo-contents');
    assert.equal(tree['/test5/foo.go'], 'file 0600 0:0 foo-contents');
  });

  it('resolves destination symlinks inside the rootfs', async (t) => {
    const { context, rootfs } = contextFor(t);
    const outside = tempDir(t, 'outside');
    mkdirSync(join(rootfs, 'real'));
    symlinkSync('/real', join(rootfs, 'abs'));
    symlinkSync(`../../../../../..${outside}`, join(rootfs, 'climb'));
    await copy(context, rootfs, 'foo.go', '/abs/');
    await copy(context, rootfs, 'bar.go', '/climb/x/');
    assert.equal(readFileSync(join(rootfs, 'real/foo.go'), 'utf8'), 'foo-contents');
    assert.equal(lstatSync(join(rootfs, 'abs')).isSymbolicLink(), true);
    assert.deepEqual(describeTree(outside), {});
    assert.equal(readFileSync(join(rootfs, outside, 'x/bar.go'), 'utf8'), 'bar-contents');
  });

  it('keeps hard links within one source as hard links', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, { 'd': { dir: 0o755 }, 'd/a': { file: 'same', mode: 0o644 } });
    linkSync(join(context, 'd/a'), join(context, 'd/b'));
    await copy(context, rootfs, 'd', '/out');
    const tree = describeTree(rootfs);
    assert.equal(tree['/out/a'].ino, tree['/out/b'].ino);
    assert.notEqual(tree['/out/a'].ino, lstatSync(join(context, 'd/a')).ino);
  });

  it('honours .dockerignore through isIgnored', async (t) => {
    const { context, rootfs } = contextFor(t);
    const isIgnored = (rel: string): boolean => rel === 'bar.go' || rel.startsWith('sub/dir1/dir2');
    await copy(context, rootfs, '.', '/ctx/', { isIgnored });
    assert.deepEqual(Object.keys(summarize(rootfs)), ['/ctx', '/ctx/Dockerfile', '/ctx/foo.go', '/ctx/sub', '/ctx/sub/dir1']);
    await assert.rejects(copy(context, rootfs, 'bar.go', '/x', { isIgnored }), /not found/);
    assert.equal((await copy(context, rootfs, '*.go', '/gofiles/', { isIgnored })).matched, 1);
  });

  it('dates everything with SOURCE_DATE_EPOCH when given, else keeps the source mtime', async (t) => {
    const { context, rootfs } = contextFor(t);
    utimesSync(join(context, 'foo.go'), 1_000_000, 1_000_000);
    await copy(context, rootfs, 'foo.go', '/kept');
    assert.equal(lstatSync(join(rootfs, 'kept')).mtimeMs, 1_000_000_000);
    await copy(context, rootfs, 'sub', '/epoch/x', { sourceDateEpoch: 1_700_000_000 });
    // As in BuildKit, /epoch itself was dated when created, then changed by the creation of x below it.
    for (const path of ['epoch/x', 'epoch/x/dir1', 'epoch/x/dir1/dir2', 'epoch/x/dir1/dir2/foo']) {
      assert.equal(lstatSync(join(rootfs, path)).mtimeMs, 1_700_000_000_000, path);
    }
  });
});

describe('COPY --chown, --chmod and ownership', () => {
  it('keeps source owners from another stage, chowns copied entries but not existing dirs (bk-copy-chown-existing-dir)', async (t) => {
    const source = tempDir(t, 'src-stage');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(source, {
      'file': { file: '', mode: 0o644, uid: 100, gid: 200 },
      'dir': { dir: 0o755, uid: 100, gid: 200 },
      'dir/subdir': { dir: 0o755, uid: 101, gid: 201 },
      'dir/subdir/nestedfile': { file: '', mode: 0o644, uid: 102, gid: 202 },
    });
    makeTree(rootfs, {
      'existingdir': { dir: 0o755, uid: 500, gid: 600 },
      'existingdir/existingsubdir': { dir: 0o755, uid: 501, gid: 601 },
      'existingdir/existingfile': { file: '', mode: 0o644, uid: 501, gid: 601 },
    });
    const fromStage = (srcPath: string, dest: string, extra: Partial<CopyRequest> = {}) =>
      copyFiles({ srcRoot: source, srcPath, dstRoot: rootfs, dest, followSymlinks: true, unpack: false, ownership: 'preserve', ...extra });
    await fromStage('/file', '/');
    await fromStage('/dir', '/dir');
    await fromStage('/dir/.', '/existingdir');
    assert.deepEqual(summarize(rootfs), {
      '/dir': 'dir 0755 0:0',
      '/dir/subdir': 'dir 0755 101:201',
      '/dir/subdir/nestedfile': 'file 0644 102:202 ',
      '/existingdir': 'dir 0755 500:600',
      '/existingdir/existingfile': 'file 0644 501:601 ',
      '/existingdir/existingsubdir': 'dir 0755 501:601',
      '/existingdir/subdir': 'dir 0755 101:201',
      '/existingdir/subdir/nestedfile': 'file 0644 102:202 ',
      '/file': 'file 0644 100:200 ',
    });
    const chown = { uid: 300, gid: 400 };
    await fromStage('/dir', '/dir2', { chown });
    await fromStage('/dir/.', '/existingdir', { chown });
    const tree = summarize(rootfs);
    assert.equal(tree['/dir2'], 'dir 0755 300:400');
    assert.equal(tree['/dir2/subdir/nestedfile'], 'file 0644 300:400 ');
    assert.equal(tree['/existingdir'], 'dir 0755 500:600');
    assert.equal(tree['/existingdir/existingsubdir'], 'dir 0755 501:601');
    assert.equal(tree['/existingdir/subdir'], 'dir 0755 300:400');
  });

  it('gives --chown to created parents', async (t) => {
    const { context, rootfs } = contextFor(t);
    await copy(context, rootfs, 'foo.go', '/p/q/foo', { chown: { uid: 7, gid: 8 } });
    assert.equal(summarize(rootfs)['/p'], 'dir 0755 7:8');
    assert.equal(summarize(rootfs)['/p/q/foo'], 'file 0600 7:8 foo-contents');
  });

  it('applies --chmod to every copied entry and to created directories (kaniko-copyadd-chmod, testCopyChmod)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, {
      'foo': { file: 'foo', mode: 0o755 },
      'qux': { dir: 0o755 },
      'qux/qup': { file: 'qup', mode: 0o644 },
      'qux/quw': { dir: 0o755 },
      'qux/quw/que': { file: 'que', mode: 0o644 },
    });
    await copy(context, rootfs, 'foo', '/file666', { chmod: parseChmod('0666') });
    await copy(context, rootfs, 'qux', '/dir777', { chmod: parseChmod('777') });
    await copy(context, rootfs, 'foo', '/parent/foo', { chmod: parseChmod('777') });
    await copy(context, rootfs, 'foo', '/parent/sub/foo', { chmod: parseChmod('770') });
    await copy(context, rootfs, 'foo', '/foobis', { chmod: parseChmod('0') });
    const tree = summarize(rootfs);
    assert.equal(tree['/file666'], 'file 0666 0:0 foo');
    assert.equal(tree['/dir777'], 'dir 0777 0:0');
    assert.equal(tree['/dir777/qup'], 'file 0777 0:0 qup');
    assert.equal(tree['/dir777/quw'], 'dir 0777 0:0');
    assert.equal(tree['/dir777/quw/que'], 'file 0777 0:0 que');
    assert.equal(tree['/parent'], 'dir 0777 0:0');
    assert.equal(tree['/parent/sub'], 'dir 0770 0:0');
    assert.equal(tree['/foobis'], 'file 0000 0:0 foo');
  });

  it('applies symbolic --chmod to files and directories (bk-chmod-symbolic)', async (t) => {
    const source = tempDir(t, 'src-stage');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(source, { 'input/file': { file: '', mode: 0o666 }, 'input/dirs/d1/d1': { dir: 0o124 } });
    const fromStage = (srcPath: string, dest: string, chmod: string) =>
      copyFiles({ srcRoot: source, srcPath, dstRoot: rootfs, dest, followSymlinks: true, unpack: false, ownership: 'preserve', chmod: parseChmod(chmod) });
    await fromStage('/input/file', '/f1', 'go-w');
    await fromStage('/input/file', '/f3', 'a+X');
    await fromStage('/input/dirs/d1', '/', 'a+X');
    const tree = summarize(rootfs);
    assert.equal(tree['/f1'], 'file 0644 0:0 ');
    assert.equal(tree['/f3'], 'file 0666 0:0 ');
    assert.equal(tree['/d1'], 'dir 0135 0:0');
  });

  it('keeps setuid and setgid bits (kaniko-issue-2075-setuid)', async (t) => {
    const source = tempDir(t, 'src-stage');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(source, { 'usr/local/bin/top1': { file: '#!/bin/sh\n', mode: 0o4555 }, 'g': { file: '', mode: 0o2755, uid: 5, gid: 6 } });
    await copyFiles({ srcRoot: source, srcPath: '/usr/local/bin/top1', dstRoot: rootfs, dest: '/usr/local/bin/', followSymlinks: true, unpack: false, ownership: 'preserve' });
    await copyFiles({ srcRoot: source, srcPath: '/g', dstRoot: rootfs, dest: '/g', followSymlinks: true, unpack: false, ownership: 'preserve' });
    const tree = summarize(rootfs);
    assert.equal(tree['/usr/local/bin/top1'], 'file 4555 0:0 #!/bin/sh\n');
    assert.equal(tree['/g'], 'file 2755 5:6 ');
  });

  it('copies device nodes and xattrs (file capabilities, user attributes)', async (t) => {
    const source = tempDir(t, 'src-stage');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(source, { 'bin/ping': { file: 'elf', mode: 0o755 }, 'bin/tagged': { file: 't', mode: 0o644 } });
    execFileSync('mknod', ['-m', '0666', join(source, 'bin/null'), 'c', '1', '3']);
    execFileSync('setcap', ['cap_net_raw+ep', join(source, 'bin/ping')]);
    execFileSync('setfattr', ['-n', 'user.kiln', '-v', 'hello', join(source, 'bin/tagged')]);
    await copyFiles({ srcRoot: source, srcPath: '/bin', dstRoot: rootfs, dest: '/bin', followSymlinks: true, unpack: false, ownership: 'preserve' });
    const nullStats = lstatSync(join(rootfs, 'bin/null'));
    assert.equal(nullStats.isCharacterDevice(), true);
    assert.equal(nullStats.rdev, lstatSync(join(source, 'bin/null')).rdev);
    assert.match(execFileSync('getcap', [join(rootfs, 'bin/ping')], { encoding: 'utf8' }), /cap_net_raw[=+]ep/);
    assert.match(execFileSync('getfattr', ['-n', 'user.kiln', join(rootfs, 'bin/tagged')], { encoding: 'utf8' }), /user.kiln="hello"/);
  });

  it('copies fifos inside a tree', async (t) => {
    const source = tempDir(t, 'src-stage');
    const rootfs = tempDir(t, 'rootfs');
    mkdirSync(join(source, 'd'));
    execFileSync('mkfifo', ['-m', '0640', join(source, 'd/pipe')]);
    await copyFiles({ srcRoot: source, srcPath: '/d', dstRoot: rootfs, dest: '/d', followSymlinks: true, unpack: false, ownership: 'preserve' });
    assert.equal(summarize(rootfs)['/d/pipe'], 'fifo 0640 0:0');
  });
});

describe('COPY --parents and --exclude', () => {
  it('keeps the source path below the destination (bk-copy-parents)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, {
      'foo1': { dir: 0o700 },
      'foo1/foo2': { dir: 0o700 },
      'foo1/foo2/bar': { file: 'bar-one', mode: 0o600 },
      'foo1/foo2/baz': { file: 'baz-two!', mode: 0o600 },
      'other': { file: 'no', mode: 0o644 },
    });
    await copy(context, rootfs, 'foo1/foo2/bar', '/', { parents: true });
    mkdirSync(join(rootfs, 'test'));
    await copy(context, rootfs, 'foo1/foo2/ba*', '/test', { parents: true });
    assert.deepEqual(summarize(rootfs), {
      '/foo1': 'dir 0700 0:0',
      '/foo1/foo2': 'dir 0700 0:0',
      '/foo1/foo2/bar': 'file 0600 0:0 bar-one',
      '/test': 'dir 0755 0:0',
      '/test/foo1': 'dir 0700 0:0',
      '/test/foo1/foo2': 'dir 0700 0:0',
      '/test/foo1/foo2/bar': 'file 0600 0:0 bar-one',
      '/test/foo1/foo2/baz': 'file 0600 0:0 baz-two!',
    });
  });

  it('pivots at /./ and requires literal paths to exist', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, { 'a/b/c/d.txt': { file: 'd', mode: 0o644 }, 'a/b/c/e.txt': { file: 'e', mode: 0o644 } });
    await copy(context, rootfs, 'a/./b/c/d.txt', '/out/', { parents: true });
    await copy(context, rootfs, 'a/b/./**/e.txt', '/deep/', { parents: true });
    assert.deepEqual(Object.keys(summarize(rootfs)), ['/deep', '/deep/c', '/deep/c/e.txt', '/out', '/out/b', '/out/b/c', '/out/b/c/d.txt']);
    await assert.rejects(copy(context, rootfs, 'a/./nope', '/out/', { parents: true }), /"\/a\/nope": not found/);
  });

  it('leaves out excluded paths, with negations and ** (patternmatcher)', async (t) => {
    const context = tempDir(t, 'ctx');
    const rootfs = tempDir(t, 'rootfs');
    makeTree(context, {
      'a.txt': { file: 'a', mode: 0o644 },
      'keep.md': { file: 'k', mode: 0o644 },
      'drop.md': { file: 'd', mode: 0o644 },
      'sub/deep/x.txt': { file: 'x', mode: 0o644 },
      'sub/deep/y.go': { file: 'y', mode: 0o644 },
      'logs/1.log': { file: '1', mode: 0o644 },
      'logs/keep.log': { file: 'keep', mode: 0o644 },
    });
    await copy(context, rootfs, '.', '/app/', { excludePatterns: ['**/*.txt', '*.md', '!keep.md', 'logs', '!logs/keep.log'] });
    assert.deepEqual(Object.keys(summarize(rootfs)), ['/app', '/app/keep.md', '/app/logs', '/app/logs/keep.log', '/app/sub', '/app/sub/deep', '/app/sub/deep/y.go']);
  });
});
