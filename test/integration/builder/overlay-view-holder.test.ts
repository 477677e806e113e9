/**
 * The build's overlay view holder on real overlay mounts: views open at once, each with its own contents; an
 * unmount that leaves the upper dir ordinary; a failed mount that does not stop the holder; closing with views
 * open; a holder that cannot start. Paths hold spaces and line breaks (the protocol encodes them).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { OverlayViewHolder } from '../../../src/builder/rootfs/overlay-view-holder.ts';
import { unmet } from '../../env/requirements.ts';

const isRoot = process.geteuid?.() === 0;
const hasTools = ['setpriv', 'unshare', 'perl'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
const skip = unmet(!isRoot ? 'needs root to mount overlayfs' : !hasTools ? 'needs setpriv, unshare (util-linux) and perl' : false);

/** A work root whose name has a space and a line break in it. */
function workRoot(t: TestContext): string {
  const root = fs.mkdtempSync(path.join(tmpdir(), 'kiln view\nholder-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  return root;
}

/** A holder closed (and checked gone) when the test ends, whatever happened. */
function holder(t: TestContext): OverlayViewHolder {
  const h = new OverlayViewHolder();
  t.after(async () => {
    const pid = h.pid;
    await h.close().catch(() => {});
    if (pid !== undefined) assert.ok(!fs.existsSync(`/proc/${pid}`), 'the holder process is gone');
  });
  return h;
}

/** Makes `rel` (under `root`) with the given files. */
function dirWith(root: string, rel: string, files: Record<string, string> = {}): string {
  const dir = path.join(root, rel);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return rel;
}

/** Lower, upper, work dirs and a mount point for a writable view named `name` over a layer holding `files`. */
function writableSpec(root: string, name: string, files: Record<string, string>) {
  return {
    base: root,
    lower: [dirWith(root, `${name} lower`, files)],
    upper: dirWith(root, `${name} upper`),
    work: dirWith(root, `${name} work`),
    mountPoint: path.join(root, dirWith(root, `${name} mnt`)),
  };
}

/** The mountinfo line of `point` in the mount namespace of `pid` (mountinfo escapes space, tab, \n, \\). */
function mountLine(pid: number, point: string): string | undefined {
  const escaped = point.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((line) => line.split(' ')[4] === escaped);
}

function mountedIn(pid: number, point: string): boolean {
  return mountLine(pid, point) !== undefined;
}

/** Whether `pid` has ended: gone, or a zombie (its mounts went with its namespace as it exited). */
function exited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Kernels from 5.10 take overlayfs's `volatile`. */
const [major = 0, minor = 0] = os.release().split('.').map(Number);
const volatileKernel = major > 5 || (major === 5 && minor >= 10);

test('two views open at once, each with its own contents; writes land in its upper dir, ordinary once close() resolves', { skip }, async (t) => {
  const root = workRoot(t);
  const views = holder(t);
  const a = writableSpec(root, 'a', { 'name.txt': 'a\n', 'only-a': '' });
  const b = writableSpec(root, 'b', { 'name.txt': 'b\n' });
  const [va, vb] = await Promise.all([views.mount(a), views.mount(b)]);
  const pid = views.pid!;
  assert.equal(fs.readFileSync(path.join(va.root, 'name.txt'), 'utf8'), 'a\n');
  assert.equal(fs.readFileSync(path.join(vb.root, 'name.txt'), 'utf8'), 'b\n');
  assert.ok(fs.existsSync(path.join(va.root, 'only-a')));
  assert.ok(!fs.existsSync(path.join(vb.root, 'only-a')));
  fs.writeFileSync(path.join(va.root, 'new file'), 'written through a\n');
  fs.rmSync(path.join(vb.root, 'name.txt'));
  assert.ok(mountedIn(pid, a.mountPoint) && mountedIn(pid, b.mountPoint), 'both mounted in the holder');
  assert.ok(!mountedIn(process.pid, a.mountPoint), 'nothing mounted in Kiln\'s own namespace');
  if (volatileKernel) assert.match(mountLine(pid, a.mountPoint)!, /[,=]volatile\b/, 'a writable view is volatile');

  await va.close();
  assert.ok(!mountedIn(pid, a.mountPoint), 'a is unmounted once its close() resolves');
  assert.ok(mountedIn(pid, b.mountPoint), 'b stays mounted');
  assert.deepEqual(fs.readdirSync(path.join(root, a.upper)), ['new file']);
  assert.equal(fs.readFileSync(path.join(root, a.upper, 'new file'), 'utf8'), 'written through a\n');
  assert.equal(fs.readFileSync(path.join(root, a.lower[0]!, 'name.txt'), 'utf8'), 'a\n', 'the lower dir is untouched');

  await vb.close();
  // b's deletion is a whiteout in its upper dir (a 0/0 character device), as the next lower dir reads it.
  const whiteout = fs.lstatSync(path.join(root, b.upper, 'name.txt'));
  assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'a whiteout');
  await va.close();
  assert.equal(views.pid, pid, 'one holder process for every view');
});

test('a mount that fails rejects with the reason, and the holder serves the next request', { skip }, async (t) => {
  const root = workRoot(t);
  const views = holder(t);
  const bad = { ...writableSpec(root, 'bad', {}), lower: ['no such dir'] };
  await assert.rejects(views.mount(bad), /overlay view mount: mount overlay on .*bad mnt \(lowerdir=no such dir,.*\): No such file or directory/);
  const pid = views.pid!;
  const good = writableSpec(root, 'good', { f: 'good\n' });
  const view = await views.mount(good);
  assert.equal(views.pid, pid, 'the same holder');
  assert.equal(fs.readFileSync(path.join(view.root, 'f'), 'utf8'), 'good\n');
  // A read-only view: two lower dirs, no upper.
  const ro = { base: root, lower: [dirWith(root, 'ro top', { top: '' }), dirWith(root, 'ro bottom', { f: 'bottom\n' })], mountPoint: path.join(root, dirWith(root, 'ro mnt')) };
  const roView = await views.mount(ro);
  assert.deepEqual(fs.readdirSync(roView.root).sort(), ['f', 'top']);
  assert.throws(() => fs.writeFileSync(path.join(roView.root, 'x'), ''), /EROFS/);
  await Promise.all([view.close(), roView.close()]);
  assert.ok(!mountedIn(pid, good.mountPoint) && !mountedIn(pid, ro.mountPoint));
  await assert.rejects(views.mount({ ...good, mountPoint: path.join(root, 'missing point') }), /No such file or directory/);
});

test('closing the holder with views open unmounts them and the process exits', { skip }, async (t) => {
  const root = workRoot(t);
  const views = holder(t);
  const a = writableSpec(root, 'a', { f: '1\n' });
  const b = writableSpec(root, 'b', { f: '2\n' });
  const va = await views.mount(a);
  await views.mount(b);
  fs.writeFileSync(path.join(va.root, 'kept'), 'kept\n');
  const pid = views.pid!;
  assert.ok(mountedIn(pid, a.mountPoint) && mountedIn(pid, b.mountPoint));
  await views.close();
  assert.ok(!fs.existsSync(`/proc/${pid}`), 'the holder is gone once close() resolves');
  assert.equal(fs.readFileSync(path.join(root, a.upper, 'kept'), 'utf8'), 'kept\n');
  // The upper dir is free again: it mounts in a new holder (with a fresh work dir: a volatile mount marks its own).
  const again = holder(t);
  const view = await again.mount({ ...a, work: dirWith(root, 'a work 2') });
  assert.equal(fs.readFileSync(path.join(view.root, 'kept'), 'utf8'), 'kept\n');
  await va.close();
  await assert.rejects(views.mount(a), /closed/);
});

test('a holder that cannot start rejects every mount (the caller then lays the stage out)', { skip }, async (t) => {
  // Without CAP_SYS_ADMIN (dropped from the bounding set of a Node started for it) no mount namespace can be
  // made: the spawner's fork of the holder fails at unshare(2), as `unshare --mount` would.
  const root = workRoot(t);
  const spec = writableSpec(root, 'a', { f: '' });
  const holderModule = fileURLToPath(new URL('../../../src/builder/rootfs/overlay-view-holder.ts', import.meta.url));
  const script = `
    const { OverlayViewHolder } = await import(${JSON.stringify(holderModule)});
    const views = new OverlayViewHolder();
    const failures = [];
    for (let i = 0; i < 2; i++) await views.mount(${JSON.stringify(spec)}).then(() => failures.push('mounted'), (err) => failures.push(err.message));
    await views.close().catch(() => {});
    console.log(JSON.stringify(failures));`;
  const r = spawnSync('setpriv', ['--bounding-set', '-sys_admin', '--inh-caps', '-sys_admin', '--', process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const failures = JSON.parse(r.stdout) as string[];
  assert.equal(failures.length, 2);
  assert.match(failures[0]!, /the overlay view holder could not start: .*EPERM/);
  assert.match(failures[1]!, /the overlay view holder (could not start|exited)/);
  assert.equal(fs.readdirSync(path.join(spec.base, 'a upper')).length, 0, 'nothing was written');
});

test('a holder nobody closed does not keep Kiln running, and dies with it', { skip }, async (t) => {
  const root = workRoot(t);
  const spec = writableSpec(root, 'a', { f: '' });
  const holderModule = fileURLToPath(new URL('../../../src/builder/rootfs/overlay-view-holder.ts', import.meta.url));
  const script = `
    const { OverlayViewHolder } = await import(${JSON.stringify(holderModule)});
    const views = new OverlayViewHolder();
    const view = await views.mount(${JSON.stringify(spec)});
    await view.close();
    await views.mount(${JSON.stringify({ ...spec, mountPoint: path.join(root, dirWith(root, 'b mnt')), upper: dirWith(root, 'b upper'), work: dirWith(root, 'b work') })});
    console.log(views.pid);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const pid = Number(r.stdout.trim());
  assert.ok(pid > 0, r.stdout);
  // The death signal is sent as Kiln's process ends; the holder's new parent (init) reaps it when it gets to it.
  for (let i = 0; i < 100 && !exited(pid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(exited(pid), 'the holder went with the process that started it');
});
