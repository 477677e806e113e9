/** The overlay view holder's protocol and mount options (overlay-view.ts): pure functions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { overlayOptions, parseAnswer, requestLine } from '../../../../src/builder/rootfs/overlay-view.ts';

test('overlay options: lower dirs topmost first, upper and work dirs when writable', () => {
  assert.equal(overlayOptions({ lower: ['l/2', 'l/1'] }), 'lowerdir=l/2:l/1');
  assert.equal(overlayOptions({ lower: ['l/0'], upper: 'u/3', work: 's/4/work' }), 'lowerdir=l/0,upperdir=u/3,workdir=s/4/work');
});

test('a request is one line of space-separated fields, each percent-encoded (spaces, line breaks, % in paths)', () => {
  const line = requestLine('mount', 7, ['/tmp/a b\nc', 'lowerdir=l/0,upperdir=u/1', '/x/100%/mnt']);
  assert.equal(line, 'mount 7 %2Ftmp%2Fa%20b%0Ac lowerdir%3Dl%2F0%2Cupperdir%3Du%2F1 %2Fx%2F100%25%2Fmnt\n');
  assert.equal(line.split('\n').length, 2, 'one line');
  assert.deepEqual(line.trimEnd().split(' ').map(decodeURIComponent), ['mount', '7', '/tmp/a b\nc', 'lowerdir=l/0,upperdir=u/1', '/x/100%/mnt']);
  assert.equal(requestLine('umount', 8, ['/p']), 'umount 8 %2Fp\n');
});

test('answers: ok and err with their ids; anything else is not an answer', () => {
  assert.deepEqual(parseAnswer('ok 12'), { id: 12, ok: true });
  assert.deepEqual(parseAnswer('err 3 mount overlay on /m (lowerdir=x): No such file or directory'),
    { id: 3, ok: false, message: 'mount overlay on /m (lowerdir=x): No such file or directory' });
  assert.deepEqual(parseAnswer('err 4'), { id: 4, ok: false, message: 'no reason given' });
  assert.equal(parseAnswer('mounted'), undefined);
  assert.equal(parseAnswer('ok x'), undefined);
  assert.equal(parseAnswer(''), undefined);
});
