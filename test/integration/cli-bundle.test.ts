/**
 * The bundle (scripts/bundle.mjs, what bin/kiln runs after `npm ci`) builds the same image as the sources,
 * digest for digest, through the parts that find files beside their modules (the RUN launcher, the xattr
 * server, the overlay view holder, the hash thread's worker), and loads no source module while doing so.
 * bin/kiln writes the bundle's code cache after a build, not after --version, and uses it from then on.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { baseImageLayout } from '../env/base-images.ts';
import { recordedModules, recordModulesOption } from '../env/module-recorder.ts';
import { context, kiln, tempDir } from './builder/kiln-process.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const skip = process.geteuid?.() === 0 ? false : 'needs root (namespace isolation with overlay)';

const DOCKERFILE = [
  'FROM base',
  'COPY ctx.txt /ctx/',
  'WORKDIR /app',
  'RUN echo "$(cat /ctx/ctx.txt) ran" > out && ls /app > listing',
  // 200 MiB: a layer this size is hashed on the hash thread (its worker module is found beside the sources).
  'RUN head -c 209715200 /dev/zero > /big',
].join('\n');

/** Runs the CLI of the bundle in `dist` the way entry.mjs does: load kiln.cjs, call main. */
function runBundle(dist: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  // A file, not --input-type with -e: worker threads inherit the process's flags, and that one refuses a file.
  const runner = path.join(dist, 'run.mjs');
  const loader = pathToFileURL(path.join(root, 'src/cli/bundle-loader.mjs')).href;
  fs.writeFileSync(runner, `const { loadBundle } = await import(${JSON.stringify(loader)});\n` +
    "const { main } = loadBundle(new URL('./kiln.cjs', import.meta.url).pathname).exports;\nprocess.exit(await main(process.argv.slice(2)));\n");
  const child = spawn(process.execPath, [runner, ...args],
    { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => err.push(c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr: Buffer.concat(err).toString() }));
  });
}

function digestOf(t: TestContext, stderr: string): string {
  const digest = /built image (sha256:[0-9a-f]{64})/.exec(stderr)?.[1];
  assert.ok(digest, stderr);
  return digest;
}

test('the bundle builds the image the sources build, and runs without them', { skip }, async (t) => {
  const work = tempDir(t, 'kiln-bundle-');
  // Inside the checkout (git-ignored), where the bundle's imports of npm packages find node_modules.
  fs.mkdirSync(path.join(root, '.kiln-test'), { recursive: true });
  const dist = fs.mkdtempSync(path.join(root, '.kiln-test', 'dist-'));
  t.after(() => fs.rmSync(dist, { recursive: true, force: true }));
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), '--outdir', dist], { stdio: 'pipe' });
  assert.ok(fs.existsSync(path.join(dist, 'bundle.json')));

  const base = await baseImageLayout('busybox');
  const ctx = context(t, { Dockerfile: DOCKERFILE, 'ctx.txt': 'from context' });
  const args = (out: string) => ['build', '-c', ctx, '--no-push', '--reproducible', '--oci-layout-path', path.join(work, out),
    '--isolation=namespace', '--base-image-source', `base=oci:${base}`];

  const fromSource = await kiln(args('source'), { KILN_FROM_SOURCE: '1' });
  assert.equal(fromSource.status, 0, fromSource.stderr);
  const modules = path.join(work, 'modules.txt');
  const fromBundle = await runBundle(dist, args('bundle'), { NODE_OPTIONS: recordModulesOption(modules) });
  assert.equal(fromBundle.status, 0, fromBundle.stderr);
  assert.equal(digestOf(t, fromBundle.stderr), digestOf(t, fromSource.stderr));

  const loaded = recordedModules(modules);
  assert.deepEqual(loaded.filter((url) => url.includes('/src/') && url.endsWith('.ts')), [], 'no source module loaded');
  assert.ok(loaded.some((url) => url.endsWith('/src/cli/bundle-loader.mjs')), loaded.join('\n'));
  assert.ok(loaded.length < 100, `${loaded.length} modules loaded`);
});

test('an edited source makes bin/kiln run the sources, not the stale bundle', async (t) => {
  // A copy of Kiln's entry and a stand-in bundle that says so: which one runs is all this checks.
  const copy = tempDir(t, 'kiln-bundle-copy-');
  fs.cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
  fs.cpSync(path.join(root, 'src'), path.join(copy, 'src'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  fs.mkdirSync(path.join(copy, 'dist'));
  fs.writeFileSync(path.join(copy, 'dist', 'kiln.cjs'), 'exports.main = async function main() { process.stdout.write("bundle\\n"); return 0; };\n');
  fs.writeFileSync(path.join(copy, 'dist', 'bundle.json'), JSON.stringify({ built: new Date().toISOString(), inputs: ['src/cli/main.ts', 'src/cli/version.ts'] }));
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(copy, 'dist', 'bundle.json'), later, later);
  const version = () => execFileSync(path.join(copy, 'bin', 'kiln'), ['--version'], { encoding: 'utf8' }).trim();

  assert.equal(version(), 'bundle');
  const edited = new Date(Date.now() + 120_000);
  fs.utimesSync(path.join(copy, 'src', 'cli', 'version.ts'), edited, edited);
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test('bin/kiln writes the bundle\'s code cache after a build (not after --version) and builds from it after', async (t) => {
  // A copy of Kiln with a bundle of its own: the checkout's dist/ may be stale while sources are edited.
  const copy = tempDir(t, 'kiln-bundle-cache-');
  fs.cpSync(path.join(root, 'bin'), path.join(copy, 'bin'), { recursive: true });
  fs.cpSync(path.join(root, 'src'), path.join(copy, 'src'), { recursive: true });
  fs.cpSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
  execFileSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), '--outdir', path.join(copy, 'dist')], { stdio: 'pipe' });
  const cacheHome = path.join(copy, 'cache-home');
  const codeCache = path.join(cacheHome, 'kiln', 'code-cache');
  const env = { ...process.env, KILN_CACHE_HOME: cacheHome, NO_COLOR: '1' };
  const build = (out: string) => execFileSync(path.join(copy, 'bin', 'kiln'),
    ['build', '-c', path.join(root, 'examples/hello'), '--no-push', '--oci-layout-path', path.join(copy, out)], { env, stdio: 'pipe' });

  execFileSync(path.join(copy, 'bin', 'kiln'), ['--version'], { env, stdio: 'pipe' });
  assert.equal(fs.existsSync(codeCache), false, 'no cache after --version');
  build('out1');
  const files = fs.readdirSync(codeCache);
  assert.equal(files.length, 1, files.join(' '));
  assert.match(files[0], /^kiln-.*\.v8$/);
  const first = fs.statSync(path.join(codeCache, files[0]));
  // V8 accepts it: a refused cache would be written again after this build.
  build('out2');
  const second = fs.statSync(path.join(codeCache, files[0]));
  assert.deepEqual([second.ino, second.mtimeMs], [first.ino, first.mtimeMs]);
  assert.ok(fs.existsSync(path.join(copy, 'out2', 'index.json')));
});
