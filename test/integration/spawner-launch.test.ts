/**
 * The spawner's forked launchers (spawner.pl `launch`, spawnForkedScript): what `setpriv --pdeathsig KILL --
 * unshare … --fork --kill-child -- perl SCRIPT` would start, forked from the spawner without an exec. Needs
 * root (namespaces), as Kiln's namespace mode does. A test script stands in for launcher.pl: it evaluates to
 * the sub each launcher runs, reads its stdin to the end, then reports what it sees on fd 3.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { spawnForkedScript, type ForkedScript, type ProcessHandle } from '../../src/spawner.ts';
import { waitGone } from '../env/process-state.ts';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const SCRIPT = String.raw`
package TestLauncher;
use strict;
sub run {
  my $input = do { local $/; <STDIN> };
  opendir(my $dir, '/proc/self/fd') or die "fd: $!";
  my @open = grep { /\A\d+\z/ && $_ > 3 && $_ != fileno($dir) } readdir $dir;
  open(my $info, '<', '/proc/self/mountinfo') or die "mountinfo: $!";
  my ($root) = grep { (split / /)[4] eq '/' } <$info>;
  my $shared = $root =~ / (shared|master):\d+/ ? 1 : 0;
  my %ns = map { $_ => readlink("/proc/self/ns/$_") } qw(mnt pid ipc uts net);
  open(my $status, '>&=', 3) or die "fd 3: $!";
  print $status join("\n", "self=$$", "input=$input", "extra_fds=" . join(',', @open), "root_shared=$shared",
    map { "$_=$ns{$_}" } sort keys %ns), "\n";
  close $status;
  print STDOUT "out\n";
  sleep 60 if $input eq 'wait';
  exit($input =~ /\Aexit (\d+)\z/ ? $1 : 0);
}
return \&run if caller;
run();
`;

interface Seen {
  code: number | null;
  signal: NodeJS.Signals | null;
  status: Record<string, string>;
  stdout: string;
  stderr: string;
}

function collect(child: ProcessHandle, input: string): Promise<Seen> {
  let status = '';
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  (child.stdio[3] as Readable).on('data', (chunk: Buffer) => { status += chunk.toString(); });
  child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stdin!.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({
      code,
      signal,
      stdout,
      stderr,
      status: Object.fromEntries(status.trim().split('\n').filter(Boolean).map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string])),
    }));
  });
}

const ownNamespace = (kind: string): string => readlinkSync(`/proc/self/ns/${kind}`);

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('spawner: forked launchers', { timeout: 60_000 }, () => {
  let dir: string;
  let script: string;
  const launch = (namespaces: ForkedScript['namespaces'], which = script): ProcessHandle =>
    spawnForkedScript({ script: which, namespaces }, ['false'], { env: { PATH }, detached: true, pipes: [0, 1, 2, 3] });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-launch-test-'));
    script = join(dir, 'test-launcher.pl');
    writeFileSync(script, SCRIPT);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the script as pid 1 of new mount, pid, ipc and uts namespaces, with private mounts and fds 0-3 only', async () => {
    const seen = await collect(launch(['mount', 'pid', 'ipc', 'uts']), 'exit 7');
    assert.equal(seen.code, 7);
    assert.equal(seen.stdout, 'out\n');
    assert.equal(seen.stderr, '', 'nothing of the spawner is left to be closed twice when the launcher exits');
    assert.equal(seen.status.self, '1');
    assert.equal(seen.status.input, 'exit 7');
    assert.equal(seen.status.extra_fds, '', 'no fd of the spawner (its pipes to Kiln, other children) reaches the launcher');
    assert.equal(seen.status.root_shared, '0', 'mounts in the step namespace never propagate to the host');
    for (const kind of ['mnt', 'pid', 'ipc', 'uts']) assert.notEqual(seen.status[kind], ownNamespace(kind), kind);
    assert.equal(seen.status.net, ownNamespace('net'), 'the host network unless asked');
  });

  it('makes the mounts of its namespace private where they are shared (unshare --mount does)', () => {
    // In a mount namespace of the test's own whose mounts are shared (this machine's are private already).
    const spawner = new URL('../../src/spawner.ts', import.meta.url).href;
    const code = `
      import { spawnForkedScript } from ${JSON.stringify(spawner)};
      import { readFileSync } from 'node:fs';
      const outer = readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').find((l) => l.split(' ')[4] === '/');
      const child = spawnForkedScript({ script: ${JSON.stringify(script)}, namespaces: ['mount', 'pid', 'ipc', 'uts'] }, ['false'],
        { env: { PATH: '/usr/bin:/bin' }, detached: true, pipes: [0, 1, 2, 3] });
      let status = '';
      child.stdio[3].on('data', (d) => { status += d; });
      child.stdout.resume();
      child.stderr.resume();
      child.stdin.end('');
      child.on('close', () => console.log(JSON.stringify({ outer, status })));`;
    const run = spawnSync('unshare', ['--mount', '--propagation', 'shared', '--', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const { outer, status } = JSON.parse(run.stdout) as { outer: string; status: string };
    assert.match(outer, / shared:\d+/, 'the outer namespace shares its root mount');
    assert.match(status, /^root_shared=0$/m);
  });

  it("a child's pid is known before anything it wrote (100 at once, each writing at once)", async () => {
    const quick = join(dir, 'quick.pl');
    writeFileSync(quick, 'sub { syswrite(STDOUT, "x"); exit 0 };\n');
    const pidAtFirstOutput = await Promise.all(Array.from({ length: 100 }, () => new Promise<number | undefined>((resolve, reject) => {
      const child = spawnForkedScript({ script: quick, namespaces: [] }, ['false'], { env: { PATH }, pipes: [1] });
      let seen: number | undefined | null = null;
      child.stdout!.once('data', () => { seen = child.pid; });
      child.on('error', reject);
      child.on('close', () => resolve(seen === null ? -1 : seen));
    })));
    assert.deepEqual(pidAtFirstOutput.filter((pid) => pid === undefined || pid === -1), []);
  });

  it('a network namespace of its own when asked', async () => {
    const seen = await collect(launch(['mount', 'pid', 'ipc', 'uts', 'net']), '');
    assert.equal(seen.code, 0);
    assert.notEqual(seen.status.net, ownNamespace('net'));
  });

  it('many launchers at once, each on its own pipes (the spawner does not wait for one to start)', async () => {
    const seen = await Promise.all([1, 2, 3, 4, 5].map((n) => collect(launch(['mount', 'pid', 'ipc', 'uts']), `exit ${n}`)));
    assert.deepEqual(seen.map((s) => [s.code, s.status.input]), [1, 2, 3, 4, 5].map((n) => [n, `exit ${n}`]));
  });

  it('ends as pid 1 did (a signal by the same signal), and pid 1 dies with the process Kiln knows', async () => {
    const killedInit = launch(['mount', 'pid', 'ipc', 'uts']);
    const first = collect(killedInit, 'wait');
    const init = await waitForChild(killedInit);
    process.kill(init, 'SIGKILL');
    assert.deepEqual([(await first).code, (await first).signal], [null, 'SIGKILL']);

    const killedParent = launch(['mount', 'pid', 'ipc', 'uts']);
    const second = collect(killedParent, 'wait');
    const orphan = await waitForChild(killedParent);
    process.kill(killedParent.pid!, 'SIGKILL');
    assert.equal((await second).signal, 'SIGKILL');
    await waitGone(orphan);
  });

  it('a script that cannot be loaded is an error event (ENOEXEC), as an exec failure is', async () => {
    const broken = join(dir, 'broken.pl');
    writeFileSync(broken, 'sub run { 1 }\n1;\n');   // evaluates to 1, not to a sub
    const child = launch(['mount', 'pid', 'ipc', 'uts'], broken);
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.on('error', resolve));
    assert.equal(err.code, 'ENOEXEC');
  });
});

/** Pid 1 of a launcher (its one child), once it runs. */
async function waitForChild(child: ProcessHandle): Promise<number> {
  if (child.pid === undefined) await new Promise((resolve) => child.once('spawn', () => resolve(undefined)));
  for (let i = 0; i < 200; i++) {
    const [pid] = childrenOf(child.pid!);
    if (pid !== undefined) return pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`launcher ${child.pid} has no child`);
}
