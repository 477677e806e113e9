import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFileCapabilities } from '../../../src/fs/extract/capability.ts';
import { decodePaxXattrs } from '../../../src/fs/extract/pax-xattrs.ts';
import { classifyWhiteout } from '../../../src/fs/extract/whiteouts.ts';

/** One PAX record: "<len> key=value\n", the length counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

test('decodePaxXattrs keeps binary values byte for byte', () => {
  const capability = Buffer.from('0100000280200000000000000000000000000000', 'hex');
  const block = Buffer.concat([
    paxRecord('path', Buffer.from('usr/bin/ping')),
    paxRecord('SCHILY.xattr.security.capability', capability),
    paxRecord('SCHILY.xattr.user.note', Buffer.from('a=b\nc', 'utf8')),
  ]);
  const xattrs = decodePaxXattrs(block);
  assert.deepEqual([...xattrs.keys()], ['security.capability', 'user.note']);
  assert.equal(xattrs.get('security.capability')?.toString('hex'), capability.toString('hex'));
  assert.equal(xattrs.get('user.note')?.toString(), 'a=b\nc');
});

test('decodeFileCapabilities turns vfs_cap_data into setcap text', () => {
  // revision 2, effective; permitted: setuid(7), net_raw(13)
  assert.deepEqual(decodeFileCapabilities(Buffer.from('0100000280200000000000000000000000000000', 'hex')), {
    text: '7,13=ep',
    rootid: 0,
  });
  // revision 2, not effective; permitted net_bind_service(10), inheritable net_bind_service + cap 40 (word 1, bit 8)
  const v2 = Buffer.alloc(20);
  v2.writeUInt32LE(0x02000000, 0);
  v2.writeUInt32LE(1 << 10, 4);
  v2.writeUInt32LE(1 << 10, 8);
  v2.writeUInt32LE(1 << 8, 16);
  assert.deepEqual(decodeFileCapabilities(v2), { text: '10=ip 40=i', rootid: 0 });
  // revision 3 carries the namespace root uid
  const v3 = Buffer.alloc(24);
  v3.writeUInt32LE(0x03000001, 0);
  v3.writeUInt32LE(1 << 21, 4);
  v3.writeUInt32LE(100000, 20);
  assert.deepEqual(decodeFileCapabilities(v3), { text: '21=ep', rootid: 100000 });
  assert.equal(decodeFileCapabilities(Buffer.from('0100000280', 'hex')), undefined, 'truncated');
  assert.equal(decodeFileCapabilities(Buffer.from('0000000900000000', 'hex')), undefined, 'unknown revision');
});

test('classifyWhiteout', () => {
  assert.deepEqual(classifyWhiteout('file'), { kind: 'none' });
  assert.deepEqual(classifyWhiteout('.wh.file'), { kind: 'remove', name: 'file' });
  assert.deepEqual(classifyWhiteout('.wh..wh..opq'), { kind: 'opaque' });
  assert.deepEqual(classifyWhiteout('.wh..wh.plnk'), { kind: 'meta' });
  assert.throws(() => classifyWhiteout('.wh..'), { code: 'LAYER_UNSAFE_PATH' });
  assert.throws(() => classifyWhiteout('.wh.'), { code: 'LAYER_UNSAFE_PATH' });
});
