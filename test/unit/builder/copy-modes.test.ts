import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyModeSet, compileSymbolicMode, modeWithChmod, parseChmod } from '../../../src/builder/copy/chmod.ts';
import { resolveChown } from '../../../src/builder/copy/chown.ts';
import { cleanPath, parentsSource, splitDest } from '../../../src/builder/copy/dest-path.ts';
import { isTarHeaderBlock } from '../../../src/builder/copy/unpack.ts';
import { KilnError } from '../../../src/errors.ts';

const apply = (text: string, mode: number, isDir = false): number => applyModeSet(compileSymbolicMode(text), mode, isDir);

describe('--chmod', () => {
  it('reads octal values up to 07777', () => {
    assert.deepEqual(parseChmod('0644'), { mode: 0o644 });
    assert.deepEqual(parseChmod('755'), { mode: 0o755 });
    assert.deepEqual(parseChmod('0'), { mode: 0 });
    assert.deepEqual(parseChmod('4755'), { mode: 0o4755 });
  });

  it("fails like BuildKit on numbers that are not octal modes", () => {
    for (const bad of ['64a', '10000', '8', '0x1ff']) {
      assert.throws(() => parseChmod(bad), (err: unknown) => {
        assert.ok(err instanceof KilnError);
        assert.equal(err.message, `invalid chmod parameter: '${bad}'. it should be octal string and between 0 and 07777`);
        return true;
      });
    }
  });

  it('reads symbolic modes and rejects bad syntax', () => {
    assert.deepEqual(parseChmod('u+x,g-w'), { symbolic: 'u+x,g-w' });
    for (const bad of ['u', 'u+x,', 'q+x', 'u*x', '+x,,']) assert.throws(() => parseChmod(bad), KilnError, bad);
  });

  it('applies symbolic modes as chmod(1) does (the bk-chmod-symbolic cases)', () => {
    assert.equal(apply('go-w', 0o666), 0o644);
    assert.equal(apply('u=rw,g=r,o=r', 0o666), 0o644);
    assert.equal(apply('a+X', 0o666), 0o666);
    assert.equal(apply('a+X', 0o124, true), 0o135);
    assert.equal(apply('go-w', 0o124, true), 0o104);
    assert.equal(apply('u+rw,g+r,o-x,o+w', 0o124, true), 0o766);
  });

  it('handles X, copies between classes, =, s and t', () => {
    assert.equal(apply('+X', 0o644), 0o644);
    assert.equal(apply('+X', 0o744), 0o755);
    assert.equal(apply('+x', 0o644), 0o755);
    assert.equal(apply('g=u', 0o740), 0o770);
    assert.equal(apply('go=u-w', 0o755), 0o755);
    assert.equal(apply('go=', 0o777), 0o700);
    assert.equal(apply('=rw', 0o4777), 0o666);
    assert.equal(apply('u+s', 0o755), 0o4755);
    assert.equal(apply('+t', 0o755, true), 0o1755);
    assert.equal(apply('o+s', 0o755), 0o755);
    assert.equal(apply('u-x+r,g+w', 0o500), 0o420);
  });

  it('replaces all bits with an octal mode, keeps the source bits without one', () => {
    assert.equal(modeWithChmod(0o104755, { mode: 0o644 }, undefined, false), 0o644);
    assert.equal(modeWithChmod(0o104755, undefined, undefined, false), 0o4755);
    assert.equal(modeWithChmod(0o40700, { symbolic: 'a+X' }, compileSymbolicMode('a+X'), true), 0o711);
  });
});

describe('--chown', () => {
  const rootfs = mkdtempSync(join(tmpdir(), 'kiln-chown-'));
  mkdirSync(join(rootfs, 'etc'));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nal:x:1005:1001::/home/al:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\ndaemon:x:1:\nappgroup:x:1001:al\nnobody:x:65534:\n');
  const empty = mkdtempSync(join(tmpdir(), 'kiln-chown-empty-'));
  process.on('exit', () => {
    rmSync(rootfs, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('takes numbers without reading any file', () => {
    assert.deepEqual(resolveChown('1000', empty), { uid: 1000, gid: 1000 });
    assert.deepEqual(resolveChown('100:200', empty), { uid: 100, gid: 200 });
    assert.deepEqual(resolveChown('root', empty), { uid: 0, gid: 0 });
    assert.deepEqual(resolveChown(':300', empty), { uid: 0, gid: 300 });
  });

  it("looks names up in the rootfs's passwd and group files", () => {
    assert.deepEqual(resolveChown('daemon', rootfs), { uid: 1, gid: 1 });
    assert.deepEqual(resolveChown('1005:appgroup', rootfs), { uid: 1005, gid: 1001 });
    assert.deepEqual(resolveChown('al', rootfs), { uid: 1005, gid: 1001 });
    assert.deepEqual(resolveChown('1000:nobody', rootfs), { uid: 1000, gid: 65534 });
    assert.deepEqual(resolveChown('al:', rootfs), { uid: 1005, gid: 0 });
  });

  it('maps unknown names to 0 as BuildKit does, or fails when strict', () => {
    assert.deepEqual(resolveChown('ghost', rootfs), { uid: 0, gid: 0 });
    assert.deepEqual(resolveChown('ghost:appgroup', empty), { uid: 0, gid: 0 });
    assert.throws(() => resolveChown('ghost', rootfs, { strict: true }), /unable to find user ghost/);
    assert.throws(() => resolveChown('1:ghosts', rootfs, { strict: true }), /unable to find group ghosts/);
  });
});

describe('destination paths', () => {
  it("cleans paths as BuildKit's cleanPath", () => {
    assert.equal(cleanPath('foo'), '/foo');
    assert.equal(cleanPath('/a/../b/'), '/b/');
    assert.equal(cleanPath('sub/dir1/.'), '/sub/dir1/.');
    assert.equal(cleanPath('/'), '/');
    assert.equal(cleanPath('.'), '/');
    assert.equal(cleanPath('./'), '/');
  });

  it('creates the destination itself only when it names a directory', () => {
    assert.deepEqual(splitDest('/a/b/'), { ensureDir: '/a/b/', target: '/a/b/' });
    assert.deepEqual(splitDest('/a/b'), { ensureDir: '/a/', target: '/a/b' });
    assert.deepEqual(splitDest('/a/b/.'), { ensureDir: '/a/b/.', target: '/a/b' });
  });

  it('splits --parents sources at the /./ pivot', () => {
    assert.deepEqual(parentsSource('foo1/foo2/bar'), { source: '/', pattern: 'foo1/foo2/bar', requiredPath: '/foo1/foo2/bar' });
    assert.deepEqual(parentsSource('foo1/foo2/ba*'), { source: '/', pattern: 'foo1/foo2/ba*' });
    assert.deepEqual(parentsSource('x/./y/z/'), { source: '/x', pattern: 'y/z', requiredPath: '/x/y/z' });
    assert.deepEqual(parentsSource('./a/**/b'), { source: '/', pattern: 'a/**/b' });
  });
});

describe('tar header detection', () => {
  it('accepts a block with a valid checksum and rejects others', () => {
    const block = Buffer.alloc(512);
    block.write('foo', 0);
    block.write('0000644\0', 100);
    block.write('ustar\x0000', 257);
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(isTarHeaderBlock(block), true);
    const corrupt = Buffer.from(block);
    corrupt[0] = 0x67;
    assert.equal(isTarHeaderBlock(corrupt), false);
    assert.equal(isTarHeaderBlock(Buffer.alloc(512)), false);
    assert.equal(isTarHeaderBlock(Buffer.from('hello')), false);
  });
});

describe('getfattr dumps', () => {
  it('reads base64, hex and quoted values and unescapes octal- and backslash-escaped path bytes', async () => {
    const { parseGetfattr } = await import('../../../src/fs/xattrs/getfattr.ts');
    const dump =
      '# file: /a/new\\012line\nsecurity.capability=0sAQA=\nuser.x=0x6869\n\n' +
      '# file: /b\\\\c\nuser.y=0x\nuser.q="hi"\n\n# file: /none\n\n';
    const parsed = parseGetfattr(dump, () => true);
    assert.deepEqual([...parsed.keys()], ['/a/new\nline', '/b\\c']);
    assert.deepEqual(parsed.get('/a/new\nline'), { 'security.capability': Buffer.from([1, 0]), 'user.x': Buffer.from('hi') });
    assert.deepEqual(parsed.get('/b\\c'), { 'user.y': Buffer.alloc(0), 'user.q': Buffer.from('hi') });
  });
});
