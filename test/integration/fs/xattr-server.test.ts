import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverPathXattrs, serverTreeXattrs, serverTreeXattrsLater, xattrServerPid, type RawXattrs } from '../../../src/fs/xattrs/xattr-server.ts';
import { getfattrPathXattrs, getfattrTreeXattrs } from '../../../src/fs/xattrs/getfattr.ts';
import { readPathXattrs } from '../../../src/fs/snapshot/xattrs.ts';
import { readTreeXattrs } from '../../../src/fs/layer/xattrs.ts';
import { unlessRoot, unmet } from '../../env/requirements.ts';
import { isRunning, waitGone } from '../../env/process-state.ts';

const hasAttrTools = spawnSync('setfattr', ['--version']).error === undefined && spawnSync('getfattr', ['--version']).error === undefined;
const skip = unlessRoot('trusted.* xattrs on symlinks') || unmet(!hasAttrTools && 'setfattr/getfattr (Debian package attr) not installed');
const readModule = fileURLToPath(new URL('../../../src/fs/xattrs/read.ts', import.meta.url));
const serverModule = fileURLToPath(new URL('../../../src/fs/xattrs/xattr-server.ts', import.meta.url));
const spawnerModule = fileURLToPath(new URL('../../../src/spawner.ts', import.meta.url));

/** getfattr's dump escaping, on raw bytes (so names that are not UTF-8 survive). */
function escapeDump(bytes: Buffer): string {
  return [...bytes].map((b) => (b <= 0x20 || b === 0x5c || b >= 0x7f ? '\\' + b.toString(8).padStart(3, '0') : String.fromCharCode(b))).join('');
}

/** Sets xattrs with `setfattr -h --restore` (byte paths, hex values, symlinks not followed). */
function setXattrs(entries: [Buffer, string, Buffer][]): void {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-test-dump-'));
  try {
    const lines = entries.flatMap(([p, name, value]) => [`# file: ${escapeDump(p)}`, `${name}=0x${value.toString('hex')}`, '']);
    writeFileSync(join(dir, 'dump'), lines.join('\n'));
    const r = spawnSync('setfattr', ['-h', `--restore=${join(dir, 'dump')}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const manyNames = Array.from({ length: 25 }, (_, i) => `user.${'n'.repeat(40)}${i}`);
const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** A tree with odd names, binary and empty values, symlinks (to a file and to a directory) carrying their own xattrs. */
function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'kiln-xattr-tree-'));
  const b = (rel: string | Buffer): Buffer => Buffer.concat([Buffer.from(root + '/'), Buffer.from(rel)]);
  mkdirSync(join(root, 'dir/sub'), { recursive: true });
  writeFileSync(join(root, 'dir/sub/plain'), '');
  writeFileSync(join(root, 'new\nline'), '');
  writeFileSync(join(root, 'back\\slash'), '');
  const notUtf8 = Buffer.from([0x6e, 0xff, 0xfe, 0x80]);
  writeFileSync(b(notUtf8), '');
  writeFileSync(join(root, 'none'), '');
  writeFileSync(join(root, 'many'), '');
  symlinkSync('dir/sub/plain', join(root, 'link'));
  symlinkSync('dir', join(root, 'dirlink'));
  setXattrs([
    [Buffer.from(root), 'user.root', Buffer.from('r')],
    [b('dir'), 'user.dir', Buffer.from('d')],
    [b('dir/sub/plain'), 'user.bin', allBytes],
    [b('dir/sub/plain'), 'user.empty', Buffer.alloc(0)],
    // Larger than the server's first buffer: read again at the size the kernel reports.
    [b('dir/sub/plain'), 'user.large', Buffer.alloc(3000, 0xab)],
    [b('dir/sub/plain'), 'trusted.overlay.opaque', Buffer.from('y')],
    [b('new\nline'), 'user.nl', Buffer.from('a\nb')],
    [b('back\\slash'), 'user.bs', Buffer.from('\\')],
    [b(notUtf8), 'user.latin', Buffer.from([0xff, 0x00])],
    [b('link'), 'trusted.link', Buffer.from('own')],
    // A name list longer than the server's first buffer.
    ...manyNames.map((name): [Buffer, string, Buffer] => [b('many'), name, Buffer.from('v')]),
  ]);
  return root;
}

function plain(map: ReadonlyMap<string, RawXattrs>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [k, attrs] of [...map].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out[k] = Object.fromEntries(Object.entries(attrs).map(([n, v]) => [n, v.toString('hex')]).sort());
  }
  return out;
}

test('the xattr server walks a tree exactly as getfattr -R -P does', { skip }, () => {
  const root = makeTree();
  try {
    const server = serverTreeXattrs(root);
    assert.ok(server, 'server available');
    assert.deepEqual(plain(server), plain(getfattrTreeXattrs(root)));
    assert.equal(server.get('dir/sub/plain')?.['user.bin']?.toString('hex'), allBytes.toString('hex'));
    assert.equal(server.get('dir/sub/plain')?.['user.empty']?.length, 0);
    assert.equal(server.get('dir/sub/plain')?.['user.large']?.toString('hex'), Buffer.alloc(3000, 0xab).toString('hex'));
    assert.equal(server.get('new\nline')?.['user.nl']?.toString(), 'a\nb');
    assert.equal(server.get('back\\slash')?.['user.bs']?.toString(), '\\');
    // The name is not UTF-8: keyed as Node's readdir names it.
    assert.equal(server.get(Buffer.from([0x6e, 0xff, 0xfe, 0x80]).toString('utf8'))?.['user.latin']?.toString('hex'), 'ff00');
    // The link's own xattrs; the linked directory is not walked through the link.
    assert.deepEqual(Object.keys(server.get('link') ?? {}), ['trusted.link']);
    assert.equal(server.has('dirlink/sub/plain'), false);
    assert.equal(server.get('')?.['user.root']?.toString(), 'r');
    assert.equal(server.has('none'), false);
    assert.deepEqual(Object.keys(server.get('many') ?? {}).sort(), [...manyNames].sort());
    // The public reader filters as before: overlay bookkeeping is not layer content.
    assert.equal(readTreeXattrs(root).get('dir/sub/plain')?.['trusted.overlay.opaque'], undefined);
    assert.equal(readTreeXattrs(root, () => true).get('dir/sub/plain')?.['trusted.overlay.opaque']?.toString(), 'y');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the xattr server reads chosen paths like getfattr: symlinks not followed, missing paths skipped', { skip }, () => {
  const root = makeTree();
  try {
    const paths = ['dir/sub/plain', 'missing', 'link', 'new\nline', 'back\\slash', 'none', 'dirlink', ''].map((p) => (p === '' ? root : join(root, p)));
    const server = serverPathXattrs(paths);
    assert.ok(server, 'server available');
    const asText = (list: (RawXattrs | undefined)[]) => list.map((a) => (a === undefined ? undefined : plain(new Map([['', a]]))['']));
    assert.deepEqual(asText(server), asText(getfattrPathXattrs(paths)));
    assert.equal(server[1], undefined);
    assert.deepEqual(Object.keys(server[2] ?? {}), ['trusted.link']);
    assert.equal(server[6], undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the xattr server takes more paths than fit in one argv', { skip }, () => {
  const root = makeTree();
  try {
    // ~3.8 MB of paths (ARG_MAX is 2 MiB): the same file under distinct "./" chains, every other one missing.
    const rels: string[] = [];
    for (let i = 0; i < 2000; i++) rels.push('./'.repeat(300 + (i >> 1)) + (i % 2 === 0 ? 'dir/sub/plain' : `missing-${i}`));
    assert.ok(rels.reduce((n, r) => n + r.length, 0) > 2 * 1024 * 1024);
    const found = readPathXattrs(root, rels);
    assert.equal(found.size, 1000);
    for (let i = 0; i < 2000; i += 2) assert.equal(found.get(rels[i]!)?.['user.bin']?.toString('hex'), allBytes.toString('hex'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a server that died is restarted on the next read', { skip }, async () => {
  const root = makeTree();
  try {
    assert.ok(serverPathXattrs([root]));
    const first = xattrServerPid();
    assert.ok(first);
    process.kill(first, 'SIGKILL');
    await waitGone(first);
    assert.equal(serverPathXattrs([root])?.[0]?.['user.root']?.toString(), 'r');
    const second = xattrServerPid();
    assert.ok(second && second !== first);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a tree read begun now and answered later gives the same map, also when the server dies in between', { skip }, async () => {
  const root = makeTree();
  try {
    const expected = plain(serverTreeXattrs(root)!);
    const answer = serverTreeXattrsLater(root);
    // The caller works (here: lists the tree) while the request is out; the answer is then already waiting.
    readdirSync(root, { recursive: true });
    assert.deepEqual(plain(answer()!), expected);
    assert.equal(serverPathXattrs([root])?.[0]?.['user.root']?.toString(), 'r', 'the next request gets its own answer');
    // A server that dies once the request is out: its answer if it was written, else a fresh server's.
    const later = serverTreeXattrsLater(root);
    const pid = xattrServerPid()!;
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    assert.deepEqual(plain(later()!), expected);
    assert.equal(serverPathXattrs([root])?.[0]?.['user.root']?.toString(), 'r', 'and the reads after it work');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs a Node process that reads xattrs of `path` and prints the server's pid and what it read. */
function readInChild(path: string, env: NodeJS.ProcessEnv = {}): { pid: number | null; attrs: string[] } {
  const script = `
    import { readXattrsOfPaths } from ${JSON.stringify(readModule)};
    import { xattrServerPid } from ${JSON.stringify(serverModule)};
    const attrs = Object.keys(readXattrsOfPaths([${JSON.stringify(path)}])[0] ?? {});
    console.log(JSON.stringify({ pid: xattrServerPid() ?? null, attrs }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { pid: number | null; attrs: string[] };
}

test('the server ends with the Kiln process and never keeps it alive', { skip }, async () => {
  const root = makeTree();
  try {
    const { pid, attrs } = readInChild(root);
    assert.deepEqual(attrs, ['user.root']);
    assert.ok(pid);
    await waitGone(pid);
    assert.equal(isRunning(pid), false, `xattr server ${pid} outlived its Kiln process`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('without a usable perl the readers fall back to getfattr', { skip }, () => {
  const root = makeTree();
  try {
    const { pid, attrs } = readInChild(root, { KILN_PERL: '/nonexistent/perl' });
    assert.equal(pid, null);
    assert.deepEqual(attrs, ['user.root']);
    assert.equal(existsSync(root), true);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Runs `body` in a Node process with the server module imported as `server` and a private temp dir (TMPDIR),
 * so that what it leaves there is its own, whatever other tests run beside it.
 */
function spawnChild(body: string, tmp: string): SpawnSyncReturns<string> {
  const script = `
    import * as server from ${JSON.stringify(serverModule)};
    import * as spawner from ${JSON.stringify(spawnerModule)};
    import { tmpdir } from 'node:os';
    import { readdirSync, readFileSync } from 'node:fs';
    const fifoDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('kiln-xattrd-'));
    ${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TMPDIR: tmp } });
}

/** spawnChild that must succeed; its stdout as JSON. */
function runInChild(body: string, tmp: string): Record<string, unknown> {
  const r = spawnChild(body, tmp);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Runs `check` with a fresh temp dir for a child, removed afterwards. */
async function withChildTmp(check: (tmp: string) => void | Promise<void>): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-test-child-tmp-'));
  try {
    await check(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** withChildTmp with a fresh tree (makeTree) as well, removed afterwards. */
function withChildTree(check: (tmp: string, root: string) => void | Promise<void>): Promise<void> {
  return withChildTmp(async (tmp) => {
    const root = makeTree();
    try {
      await check(tmp, root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

/** Child code: the spawner started and answering (it ran a child). */
const SPAWNER_RUNNING = `
      spawner.startSpawner();
      await spawner.startedPid(spawner.spawnProcess('true', [], { env: { PATH: '/usr/bin:/bin' }, pipes: [] }));`;

test('a server started early serves the first read, and its FIFO dir is gone once connected', { skip }, () => withChildTmp((tmp) => {
  const root = makeTree();
  try {
    const out = runInChild(`
      server.startXattrServerEarly();
      const early = server.xattrServerPid();
      const before = fifoDirs().length;
      await new Promise((r) => setTimeout(r, 100));
      const attrs = Object.keys(server.serverPathXattrs([${JSON.stringify(root)}])[0] ?? {});
      console.log(JSON.stringify({ early, connected: server.xattrServerPid(), attrs, before, after: fifoDirs().length }));`, tmp);
    assert.ok(out.early, 'a server was spawned ahead');
    assert.equal(out.connected, out.early, 'the read used the server started early');
    assert.deepEqual(out.attrs, ['user.root']);
    assert.equal(out.before, 1, 'the early server made its FIFO dir');
    assert.equal(out.after, 0, 'the FIFO dir of the early server is removed once connected');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}));

test('a server started early that died before its first use is replaced, not given up for getfattr', { skip }, () => withChildTmp(async (tmp) => {
  const root = makeTree();
  try {
    const out = runInChild(`
      server.startXattrServerEarly();
      const early = server.xattrServerPid();
      process.kill(early, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      const attrs = Object.keys(server.serverPathXattrs([${JSON.stringify(root)}])[0] ?? {});
      console.log(JSON.stringify({ early, connected: server.xattrServerPid() ?? null, attrs }));`, tmp);
    assert.ok(out.connected, 'a server serves the read');
    assert.notEqual(out.connected, out.early);
    assert.deepEqual(out.attrs, ['user.root']);
    await waitGone(out.connected as number);
    assert.equal(isRunning(out.connected as number), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}));

test('a server started early and never used ends with Kiln and leaves no FIFO dir', { skip }, () => withChildTmp(async (tmp) => {
  const out = runInChild(`
    server.startXattrServerEarly();
    console.log(JSON.stringify({ pid: server.xattrServerPid() }));`, tmp);
  assert.ok(out.pid);
  await waitGone(out.pid as number);
  assert.equal(isRunning(out.pid as number), false, 'the early server outlived its Kiln process');
  assert.deepEqual(readdirSync(tmp), []);
}));

test('with the spawner running, a server started early is its child and serves the first read', { skip }, () => withChildTree((tmp, root) => {
  const out = runInChild(`${SPAWNER_RUNNING}
      server.startXattrServerEarly();
      await new Promise((r) => setTimeout(r, 100));
      const early = server.xattrServerPid();
      const stat = readFileSync('/proc/' + early + '/stat', 'latin1');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const attrs = Object.keys(server.serverPathXattrs([${JSON.stringify(root)}])[0] ?? {});
      console.log(JSON.stringify({ early, parent, spawner: spawner.spawnerPid(), connected: server.xattrServerPid(), attrs, after: fifoDirs().length }));`, tmp);
  assert.equal(out.parent, out.spawner, 'the early server is the spawner\'s child');
  assert.equal(out.connected, out.early, 'the read used the server started early');
  assert.deepEqual(out.attrs, ['user.root']);
  assert.equal(out.after, 0, 'its FIFO dir is removed once connected');
}));

test('a read before the spawner confirmed the early server\'s start gets a server of its own; the early one goes', { skip }, () => withChildTree(async (tmp, root) => {
  const out = runInChild(`${SPAWNER_RUNNING}
      server.startXattrServerEarly();
      const unconfirmed = server.xattrServerPid() ?? null;
      const attrs = Object.keys(server.serverPathXattrs([${JSON.stringify(root)}])[0] ?? {});
      console.log(JSON.stringify({ unconfirmed, connected: server.xattrServerPid() ?? null, attrs }));`, tmp);
  assert.equal(out.unconfirmed, null, 'no pid before the spawner answered');
  assert.ok(out.connected, 'a server serves the read');
  assert.deepEqual(out.attrs, ['user.root']);
  await waitGone(out.connected as number);
  assert.deepEqual(readdirSync(tmp), [], 'neither server left a FIFO dir');
}));

test('a Kiln killed before it used its early server leaves neither the server nor its FIFO dir', { skip }, () => withChildTmp(async (tmp) => {
  const r = spawnChild(`
    server.startXattrServerEarly();
    console.log(String(server.xattrServerPid()));
    // Give the server time to make its FIFOs and wait on them, then die as a SIGKILLed Kiln would.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 300);`, tmp);
  assert.equal(r.signal, 'SIGKILL');
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 0, r.stdout);
  await waitGone(pid);
  assert.equal(isRunning(pid), false, 'the early server outlived its killed Kiln process');
  assert.deepEqual(readdirSync(tmp), [], 'the FIFO dir of a server whose Kiln died is removed');
}));
