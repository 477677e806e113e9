/**
 * The bundle's loader (src/cli/bundle-loader.mjs): a CommonJS script run as Node runs a module, with a V8 code
 * cache written once after the work it should remember, used by later runs, replaced when V8 refuses it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-expect-error plain JavaScript without declarations (it runs before any .ts module can load)
import { OTHER_CACHES_KEPT, codeCacheFile } from '../../../src/cli/bundle-loader.mjs';

const loaderUrl = new URL('../../../src/cli/bundle-loader.mjs', import.meta.url).href;

/** A bundle that requires a file beside it, imports a built-in, and exports a main that compiles functions. */
function bundleDir(t: TestContext): { dir: string; bundle: string; kilnCache: string; cacheDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bundle-loader-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'beside.js'), 'module.exports = "beside";\n');
  const bundle = path.join(dir, 'kiln.cjs');
  fs.writeFileSync(bundle, [
    'const beside = require("./beside.js");',
    'function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }',
    'exports.main = async (args) => {',
    '  const { sep } = await import("node:path");',
    '  return JSON.stringify({ beside, sep, file: __filename, dir: __dirname, work: work(1000), args, isModule: module.exports === exports });',
    '};',
    '',
  ].join('\n'));
  const kilnCache = path.join(dir, 'kiln-cache');
  const cacheDir = path.join(kilnCache, 'code-cache');
  fs.mkdirSync(cacheDir, { recursive: true });
  return { dir, bundle, kilnCache, cacheDir };
}

/** Loads the bundle in a fresh process (a code cache is per process), runs main, saves the cache if asked. */
function load(bundle: string, cacheFile: string, save: boolean): { cacheUsed: boolean; saved: boolean; result: Record<string, unknown> } {
  const script = `const { loadBundle } = await import(${JSON.stringify(loaderUrl)});
const b = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cacheFile)});
const result = JSON.parse(await b.exports.main(['x']));
const saved = ${save} ? b.saveCodeCache() : false;
process.stdout.write(JSON.stringify({ cacheUsed: b.cacheUsed, saved, result }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the bundle runs as a CommonJS module: require beside it, __filename, import() of a built-in', (t) => {
  const { dir, bundle, kilnCache } = bundleDir(t);
  const { result } = load(bundle, codeCacheFile(kilnCache, 'b1'), false);
  assert.deepEqual(result, { beside: 'beside', sep: '/', file: bundle, dir, work: 2997, args: ['x'], isModule: true });
});

test('the cache is written after the first run, used by the next, and not written again', (t) => {
  const { bundle, kilnCache, cacheDir } = bundleDir(t);
  const cacheFile = codeCacheFile(kilnCache, 'b1');
  const first = load(bundle, cacheFile, true);
  assert.deepEqual([first.cacheUsed, first.saved], [false, true]);
  const written = fs.statSync(cacheFile);
  assert.ok(written.size > 0);
  const second = load(bundle, cacheFile, true);
  assert.deepEqual([second.cacheUsed, second.saved], [true, false]);
  assert.equal(fs.statSync(cacheFile).mtimeMs, written.mtimeMs);
  assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(cacheFile)], 'no temporary file left');
});

test('a cache V8 refuses (garbage, or another bundle\'s) is replaced after the run; the run itself works', (t) => {
  const { bundle, kilnCache } = bundleDir(t);
  const cacheFile = codeCacheFile(kilnCache, 'b1');
  fs.writeFileSync(cacheFile, Buffer.alloc(4096, 7));
  const garbage = load(bundle, cacheFile, true);
  assert.deepEqual([garbage.cacheUsed, garbage.saved, garbage.result.beside], [false, true, 'beside']);
  assert.equal(load(bundle, cacheFile, false).cacheUsed, true);

  // The same name over an edited bundle (V8 checks the source): refused, replaced.
  fs.appendFileSync(bundle, 'exports.more = 1;\n');
  const edited = load(bundle, cacheFile, true);
  assert.deepEqual([edited.cacheUsed, edited.saved], [false, true]);
  assert.equal(load(bundle, cacheFile, false).cacheUsed, true);
});

test('writing a cache keeps the newest of the other bundles\' caches, removes the older ones, and nothing else', (t) => {
  const { bundle, kilnCache, cacheDir } = bundleDir(t);
  // Other bundles' caches, oldest first: o0 … o4, a minute apart.
  const others = [0, 1, 2, 3, 4].map((n) => {
    const file = codeCacheFile(kilnCache, `o${n}`);
    fs.writeFileSync(file, 'other');
    const when = new Date(Date.now() - (10 - n) * 60_000);
    fs.utimesSync(file, when, when);
    return path.basename(file);
  });
  fs.writeFileSync(path.join(cacheDir, 'notes.txt'), 'kept');
  const cacheFile = codeCacheFile(kilnCache, 'b1');
  assert.equal(load(bundle, cacheFile, true).saved, true);
  assert.equal(OTHER_CACHES_KEPT, 3);
  assert.deepEqual(fs.readdirSync(cacheDir).sort(), [path.basename(cacheFile), 'notes.txt', ...others.slice(-OTHER_CACHES_KEPT)].sort());
});

test('a cache directory that cannot be written costs nothing but the cache', (t) => {
  const { bundle, dir } = bundleDir(t);
  const cacheFile = codeCacheFile(path.join(dir, 'missing-dir'), 'b1');
  const r = load(bundle, cacheFile, true);
  assert.deepEqual([r.cacheUsed, r.saved, r.result.beside], [false, false, 'beside']);
  assert.equal(fs.existsSync(path.join(dir, 'missing-dir')), false);
});

test('the cache file is named by the bundle\'s build time, the Node version and the architecture', () => {
  const name = path.basename(codeCacheFile('/c', '2026-12-04T21:07:35.795Z'));
  assert.equal(name, `kiln-2026-12-04T21_07_35.795Z-${process.version}-${process.arch}.v8`);
  assert.notEqual(codeCacheFile('/c', 'a'), codeCacheFile('/c', 'b'));
  assert.equal(path.dirname(codeCacheFile('/c', '../../x')), '/c/code-cache', 'no path out of the directory');
});
