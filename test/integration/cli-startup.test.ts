/**
 * Start-up, end to end through bin/kiln: the compile cache lands where Kiln's caches live and a directory
 * that cannot be made is no failure; a FROM scratch build with COPY only loads none of the subsystems it does
 * not use (a static import of one of them would put it back on every build's start-up).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordedModules, recordModulesOption } from '../env/module-recorder.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const kiln = join(root, 'bin/kiln');

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string; error?: Error } {
  const clean = { ...process.env };
  delete clean.NODE_COMPILE_CACHE;
  delete clean.NODE_DISABLE_COMPILE_CACHE;
  const r = spawnSync(kiln, args, { env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ...(r.error ? { error: r.error } : {}) };
}

test('the compile cache goes to $KILN_CACHE_HOME/kiln/node-compile-cache, then $XDG_CACHE_HOME', (t) => {
  const dir = tempDir(t);
  const r = run(['--version'], { KILN_CACHE_HOME: join(dir, 'kiln-home'), XDG_CACHE_HOME: join(dir, 'xdg') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  assert.ok(readdirSync(join(dir, 'kiln-home/kiln/node-compile-cache')).length > 0, 'cache entries written');
  assert.equal(existsSync(join(dir, 'xdg')), false);

  const x = run(['--version'], { KILN_CACHE_HOME: '', XDG_CACHE_HOME: join(dir, 'xdg') });
  assert.equal(x.status, 0, x.stderr);
  assert.ok(readdirSync(join(dir, 'xdg/kiln/node-compile-cache')).length > 0);
});

test('a cache directory that cannot be made is no failure (and no hang, as Node\'s recursive mkdir under /proc is)', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  for (const home of ['/proc/kiln-no-such-dir', file, 'relative/dir']) {
    const r = run(['--version'], { KILN_CACHE_HOME: home, XDG_CACHE_HOME: join(dir, 'xdg') });
    assert.equal(r.error, undefined, `${home}: ${r.error?.message}`);
    assert.equal(r.status, 0, `${home}: ${r.stderr}`);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  }
  // A relative $KILN_CACHE_HOME is ignored (it would write into the build's working directory).
  assert.equal(existsSync(join(process.cwd(), 'relative')), false);
});

test('a FROM scratch build with COPY only loads no registry client, sandbox, RUN nor tar code', (t) => {
  const dir = tempDir(t);
  const list = join(dir, 'modules.txt');
  const r = run(['build', '-c', join(root, 'examples/hello'), '--no-push', '--oci-layout-path', join(dir, 'out')], {
    KILN_CACHE_HOME: join(dir, 'cache'),
    NODE_OPTIONS: recordModulesOption(list),
    // The sources, whose module names say what loaded (the bundle keeps each lazy import a chunk of its own).
    KILN_FROM_SOURCE: '1',
  });
  assert.equal(r.status, 0, r.stderr);
  const loaded = recordedModules(list);
  assert.ok(loaded.some((u) => u.endsWith('/src/builder/executor.ts')), 'the hook saw the build');
  for (const unwanted of ['/node_modules/undici/', '/node_modules/tar-stream/', '/src/registry/session.ts', '/src/sandbox/', '/src/fs/extract/apply-layer.ts', '/src/builder/instructions/run.ts', '/src/cache/layer-cache.ts', '/src/cache/registry-layer-cache.ts', '/src/cache/oci-layout-layer-cache.ts', '/src/cache/base-image-cache.ts', '/src/cache/warmer.ts',
    '/src/context/remote-open.ts', '/src/context/git-fetch.ts', '/src/context/download.ts', '/src/builder/copy/remote-source.ts', '/node_modules/@aws-sdk/', '/node_modules/@google-cloud/', '/node_modules/@azure/']) {
    assert.deepEqual(loaded.filter((u) => u.includes(unwanted)), [], `${unwanted} loaded`);
  }
});
