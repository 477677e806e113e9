import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { removeMountStubs } from '../../../src/sandbox/mount-stubs.ts';
import { parseStatus } from '../../../src/sandbox/status-channel.ts';

describe('parseStatus', () => {
  it('reads stub and error records and ignores a record cut short', () => {
    const data = Buffer.from('stub\x002\x00dir\x00/proc\x00stub\x002\x00file\x00/etc/resolv.conf\x00'
      + 'error\x002\x00RUN_USER\x00unable to find user x\x00stub\x002\x00dir');
    assert.deepEqual(parseStatus(data), {
      stubs: [{ kind: 'dir', path: '/proc' }, { kind: 'file', path: '/etc/resolv.conf' }],
      error: { code: 'RUN_USER', message: 'unable to find user x' },
    });
  });

  it('an empty channel is no stubs and no error', () => {
    assert.deepEqual(parseStatus(Buffer.alloc(0)), { stubs: [], error: undefined });
  });
});

describe('removeMountStubs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-stubs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('removes empty stubs deepest first, keeps dirs the step filled, reports what is gone', () => {
    const root = join(dir, 'a');
    mkdirSync(join(root, 'run/secrets'), { recursive: true });
    writeFileSync(join(root, 'run/secrets/x'), '');
    mkdirSync(join(root, 'var/cache'), { recursive: true });
    writeFileSync(join(root, 'var/own'), 'step output');
    const gone = removeMountStubs(root, [
      { kind: 'dir', path: '/run' }, { kind: 'dir', path: '/run/secrets' }, { kind: 'file', path: '/run/secrets/x' },
      { kind: 'dir', path: '/var' }, { kind: 'dir', path: '/var/cache' },
    ]);
    assert.deepEqual(gone, ['/run', '/run/secrets', '/run/secrets/x', '/var/cache']);
    assert.equal(existsSync(join(root, 'run')), false);
    assert.ok(existsSync(join(root, 'var/own')));
  });

  it('never follows a symlink the step put in place of a stub\'s parent', () => {
    const root = join(dir, 'b');
    const outside = join(dir, 'outside');
    mkdirSync(root);
    mkdirSync(outside);
    writeFileSync(join(outside, 'resolv.conf'), '');
    symlinkSync(outside, join(root, 'etc'));
    removeMountStubs(root, [{ kind: 'file', path: '/etc/resolv.conf' }]);
    assert.ok(existsSync(join(outside, 'resolv.conf')), 'the file outside the rootfs survives');
  });

  it('does not remove a stub whose kind changed (a dir where a file stub was)', () => {
    const root = join(dir, 'c');
    mkdirSync(join(root, 'etc/hosts'), { recursive: true });
    assert.deepEqual(removeMountStubs(root, [{ kind: 'file', path: '/etc/hosts' }]), []);
    assert.ok(existsSync(join(root, 'etc/hosts')));
  });
});
