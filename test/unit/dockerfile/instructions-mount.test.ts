import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InstructionSyntaxError,
  mountFromBeforeExpansion,
  parseFlags,
  parseGoDuration,
  parseMount,
  parseRamBytes,
} from '../../../src/dockerfile/instructions/index.ts';

function mountFails(spec: string, message: string): void {
  assert.throws(() => parseMount(spec), (err: unknown) => {
    assert.ok(err instanceof InstructionSyntaxError, String(err));
    assert.equal(err.message, message);
    return true;
  });
}

describe('RUN --mount', () => {
  it('bind: the default type, read-only, with from/source/target aliases', () => {
    assert.deepEqual(parseMount('target=/src'), { type: 'bind', readOnly: true, required: false, target: '/src' });
    assert.deepEqual(parseMount('type=bind,from=build,src=/out,dst=/in,rw'), {
      type: 'bind', readOnly: false, required: false, from: 'build', source: '/out', target: '/in',
    });
    assert.equal(parseMount('type=bind,destination=/d,readwrite=true').readOnly, false);
    assert.equal(parseMount('type=bind,target=/d,ro=false').readOnly, false);
    assert.equal(parseMount('TYPE=BIND,Target=/d').type, 'bind');
  });
  it('cache: read-write by default, id, sharing, mode, uid, gid', () => {
    assert.deepEqual(parseMount('type=cache,target=/root/.cache,id=pip,sharing=Locked,mode=0700,uid=1000,gid=1000'), {
      type: 'cache', readOnly: false, required: false, target: '/root/.cache', id: 'pip', sharing: 'locked',
      mode: 0o700, uid: 1000, gid: 1000,
    });
    assert.equal(parseMount('type=cache,target=/c,readonly').readOnly, true);
    assert.equal(parseMount('type=cache,target=/c,from=base,source=/x').from, 'base');
  });
  it('tmpfs: read-write, size in bytes', () => {
    assert.deepEqual(parseMount('type=tmpfs,target=/t,size=64m'), { type: 'tmpfs', readOnly: false, required: false, target: '/t', size: 64 * 1024 * 1024 });
    assert.equal(parseRamBytes('size', '1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseRamBytes('size', '512 KiB'), 512 * 1024);
    assert.equal(parseRamBytes('size', '100'), 100);
  });
  it('secret: id/source/target/env, required, file info', () => {
    assert.deepEqual(parseMount('type=secret,id=npmrc,target=/root/.npmrc,required,mode=0400,uid=1,gid=2'), {
      type: 'secret', readOnly: true, required: true, id: 'npmrc', target: '/root/.npmrc', mode: 0o400, uid: 1, gid: 2,
    });
    assert.deepEqual(parseMount('type=secret,id=token,env=TOKEN'), { type: 'secret', readOnly: true, required: false, id: 'token', env: 'TOKEN' });
    assert.equal(parseMount('type=secret,src=/run/x,required=false').required, false);
  });
  it('ssh: id, required', () => {
    assert.deepEqual(parseMount('type=ssh,id=default,required=true'), { type: 'ssh', readOnly: true, required: true, id: 'default' });
  });
  it('handles CSV quoting', () => {
    assert.equal(parseMount('type=bind,"target=/a,b"').target, '/a,b');
    mountFails('type=bind,tar"get=/a', 'failed to parse csv mounts: parse error on line 1, column 14: bare " in non-quoted-field');
  });
  it('rejects invalid options as BuildKit', () => {
    mountFails('type=volume,target=/x', 'unsupported mount type "volume"');
    mountFails('type=cahce,target=/x', 'unsupported mount type "cahce" (did you mean cache?)');
    mountFails('type=cache,target=/x,sharing=everyone', 'unsupported sharing value "everyone"');
    mountFails('type=bind,target=/x,sharing=shared', 'invalid cache sharing set for bind mount');
    mountFails('type=bind,target=/x,mode=0700', 'mode not allowed for "bind" type mounts');
    mountFails('type=tmpfs,target=/x,uid=1', 'uid not allowed for "tmpfs" type mounts');
    mountFails('type=bind,target=/x,gid=1', 'gid not allowed for "bind" type mounts');
    mountFails('type=cache,target=/x,mode=999', 'invalid value 999 for mode');
    mountFails('type=cache,target=/x,uid=-1', 'invalid value -1 for uid');
    mountFails('type=bind,target=/x,required', "unexpected key 'required' for mount type 'bind'");
    mountFails('type=cache,target=/x,size=1m', "unexpected key 'size' for mount type 'cache'");
    mountFails('size=1m,type=tmpfs,target=/x', "unexpected key 'size' for mount type 'bind'");
    mountFails('type=tmpfs,target=/x,size=lots', 'invalid value for size: lots');
    mountFails('type=bind,target=/x,env=A', "unexpected key 'env' for mount type 'bind'");
    mountFails('type=bind,target=/x,ro=maybe', 'invalid value for ro: maybe');
    mountFails('type=bind,targte=/x', "unexpected key 'targte' in 'targte=/x' (did you mean target?)");
    mountFails('type=bind,bogus', "invalid field 'bogus' must be a key=value pair");
    mountFails('type=secret,from=x,id=a', 'secret mount should not have a from');
    mountFails('type=secret', 'invalid secret mount. one of source, target required');
    mountFails('type=secret,id=a,source=/b', "both source and id can't be set");
  });
  it('applies the expander to values only', () => {
    const mount = parseMount('type=$T,target=$DIR', (word) => word.replace('$DIR', '/data').replace('$T', 'cache'));
    assert.equal(mount.type, 'cache');
    assert.equal(mount.target, '/data');
  });
  it('reads from= before expansion and refuses variables there', () => {
    assert.equal(mountFromBeforeExpansion('type=bind,from=Build,target=/x'), 'Build');
    assert.equal(mountFromBeforeExpansion('type=cache,target=$X'), undefined);
    assert.throws(() => mountFromBeforeExpansion('from=${S}'), /'from' doesn't support variable expansion/);
  });
});

describe('flags (BFlags)', () => {
  const specs = { from: 'string', link: 'bool', exclude: 'strings' } as const;
  it('parses bool, string and repeated strings', () => {
    const flags = parseFlags(['--from=x', '--link', '--exclude=a', '--exclude=b'], specs);
    assert.equal(flags.string('from'), 'x');
    assert.equal(flags.bool('link'), true);
    assert.deepEqual(flags.strings('exclude'), ['a', 'b']);
    assert.deepEqual(flags.used, ['from', 'link', 'exclude']);
    assert.equal(parseFlags(['--link=FALSE'], specs).bool('link'), false);
    assert.equal(parseFlags(['--link=True'], specs).bool('link'), true);
    assert.equal(parseFlags(['--from='], specs).string('from'), '');
  });
  it('stops at --', () => {
    assert.equal(parseFlags(['--', '--bogus'], specs).isUsed('bogus'), false);
  });
  it('reports errors as BuildKit', () => {
    assert.throws(() => parseFlags(['from=x'], specs), /^InstructionSyntaxError: arg should start with -- : from=x$/);
    assert.throws(() => parseFlags(['--lnk'], specs), /unknown flag: --lnk \(did you mean link\?\)/);
    assert.throws(() => parseFlags(['--from=a', '--from=b'], specs), /duplicate flag specified: --from/);
    assert.throws(() => parseFlags(['--exclude'], specs), /missing a value on flag: --exclude/);
  });
});

describe('Go durations', () => {
  it('parses like time.ParseDuration', () => {
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('1h2m3s'), 3723e9);
    assert.equal(parseGoDuration('1.5s'), 1.5e9);
    assert.equal(parseGoDuration('.5ms'), 5e5);
    assert.equal(parseGoDuration('2us'), 2000);
    assert.equal(parseGoDuration('2µs'), 2000);
    assert.equal(parseGoDuration('-1m'), -60e9);
    assert.equal(parseGoDuration('100ns'), 100);
  });
  it('rejects malformed durations', () => {
    assert.throws(() => parseGoDuration(''), /time: invalid duration ""/);
    assert.throws(() => parseGoDuration('s'), /time: invalid duration "s"/);
    assert.throws(() => parseGoDuration('1'), /time: missing unit in duration "1"/);
    assert.throws(() => parseGoDuration('1d'), /time: unknown unit "d" in duration "1d"/);
    assert.throws(() => parseGoDuration('1.2.3s'), /time: missing unit/);
    assert.throws(() => parseGoDuration('3000000h'), /time: invalid duration/);
  });
});
