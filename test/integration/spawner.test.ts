/**
 * The spawner (src/spawner.ts, spawner.pl): its children behave as Node's spawn() children do for what
 * Kiln uses (pipes on fds 0–3 relayed intact, exit codes and signals, 'close' after every pipe ended, exec
 * failures as 'error', env, cwd, a session of their own, a kill before the start is known), and it dies with
 * the Kiln process that started it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { spawnProcess, type ProcessHandle } from '../../src/spawner.ts';
import { waitGone } from '../env/process-state.ts';

const spawnerModule = fileURLToPath(new URL('../../src/spawner.ts', import.meta.url));
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string[];
  events: string[];
}

/** Runs `script` under sh with fds 0–3 piped, `input` on stdin; what it wrote and how it ended. */
function run(script: string, input = '', options: { env?: Record<string, string>; cwd?: string; detached?: boolean } = {}): Promise<Outcome> {
  const child = spawnProcess('sh', ['-c', script], { env: { PATH, ...options.env }, pipes: [0, 1, 2, 3], ...options });
  return outcome(child, input);
}

function outcome(child: ProcessHandle, input: string): Promise<Outcome> {
  const out = ['', '', '', ''];
  const events: string[] = [];
  [child.stdout, child.stderr, child.stdio[3] as Readable | null].forEach((stream, i) => {
    stream?.on('data', (chunk: Buffer) => { out[i + 1] += chunk.toString('latin1'); });
    stream?.on('end', () => events.push(`end${i + 1}`));
  });
  child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => events.push('exit'));
    child.on('close', (code, signal) => resolve({ code, signal, out, events }));
  });
}

describe('spawner', () => {
  it('relays stdin, stdout, stderr and fd 3, and reports the exit code after every pipe ended', async () => {
    const r = await run('read line; echo "got $line"; echo err >&2; echo status >&3; exit 3', 'hi\n');
    assert.equal(r.code, 3);
    assert.equal(r.signal, null);
    assert.deepEqual(r.out.slice(1), ['got hi\n', 'err\n', 'status\n']);
    assert.deepEqual([...r.events].sort(), ['end1', 'end2', 'end3', 'exit']);
  });

  it('relays a large output intact (1 MiB over many frames) and large input', async () => {
    const input = 'x'.repeat(300_000) + '\n';
    const r = await run('wc -c; head -c 1048576 /dev/urandom | tee /dev/fd/3 | sha256sum >&2', input);
    assert.equal(r.code, 0);
    assert.equal(r.out[1]!.trim(), String(input.length));
    assert.equal(r.out[3]!.length, 1 << 20);
    assert.equal(createHash('sha256').update(Buffer.from(r.out[3]!, 'latin1')).digest('hex'), r.out[2]!.split(' ')[0]);
  });

  it('reports a signal, the environment, the directory and a session of its own', async () => {
    const killed = await run('kill -TERM $$');
    assert.equal(killed.code, null);
    assert.equal(killed.signal, 'SIGTERM');
    const r = await run('echo "$FOO $PWD"', '', { env: { FOO: 'bar baz' }, cwd: '/tmp' });
    assert.equal(r.out[1], 'bar baz /tmp\n');
    const session = (detached: boolean) => run('echo $$ $(cut -d" " -f6 /proc/$$/stat)', '', { detached });
    const [pid, sid] = (await session(true)).out[1]!.trim().split(' ');
    assert.equal(sid, pid, 'detached: its own session');
    const [pid2, sid2] = (await session(false)).out[1]!.trim().split(' ');
    assert.notEqual(sid2, pid2);
  });

  it('fds that are not piped: 0–2 are /dev/null, 3 is closed', async () => {
    const child = spawnProcess('sh', ['-c', 'cat; echo x >&3 || exit 9'], { env: { PATH }, pipes: [] });
    const r = await outcome(child, '');
    assert.equal(r.code, 9);
  });

  it('a command that cannot start is an error event with its errno', async () => {
    const child = spawnProcess('/nonexistent/kiln-no-such-tool', [], { env: { PATH }, pipes: [1] });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.on('error', resolve));
    assert.equal(err.code, 'ENOENT');
    assert.match(err.message, /kiln-no-such-tool/, 'the error names the command');
  });

  it('a kill sent before the start is known reaches the child', async () => {
    const child = spawnProcess('sleep', ['30'], { env: { PATH }, pipes: [1] });
    assert.equal(child.pid, undefined, 'the start is reported asynchronously');
    child.kill('SIGKILL');
    const r = await outcome(child, '');
    assert.equal(r.signal, 'SIGKILL');
  });

  it('dies with the process that started it', async () => {
    const script = `
      import { spawnProcess, spawnerPid } from ${JSON.stringify(spawnerModule)};
      const child = spawnProcess('sleep', ['30'], { env: { PATH: ${JSON.stringify(PATH)} }, pipes: [] });
      child.on('spawn', () => { console.log(spawnerPid()); process.kill(process.pid, 'SIGKILL'); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const pid = Number(r.stdout.trim());
    assert.ok(pid > 0, r.stdout);
    assert.ok(await waitGone(pid), `spawner ${pid} outlived its Kiln process`);
  });
});
