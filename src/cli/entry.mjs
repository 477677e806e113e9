/**
 * Kiln's process entry (bin/kiln runs it), then the CLI in main.ts.
 *
 * Plain JavaScript on purpose: it turns on Node's module compile cache before the first .ts module is loaded.
 * The cache keeps each module's type-stripped source as well as V8's code cache, so a warm start never loads
 * Node's TypeScript stripper (~50 ms) nor strips ~150 modules (~150 ms). Enabling it through the API rather
 * than NODE_COMPILE_CACHE in bin/kiln keeps it out of the environment of RUN steps and helpers Kiln spawns.
 * NODE_COMPILE_CACHE (another directory) and NODE_DISABLE_COMPILE_CACHE=1 still win, as Node documents.
 */
import { existsSync, mkdirSync } from 'node:fs';
// A namespace import: a named one of enableCompileCache is a SyntaxError on Node 20, before any check can run.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheFile, loadBundle } from './bundle-loader.mjs';
import { freshBundle } from './fresh-bundle.mjs';

/** The one Node requirement (package.json's engines, the README): type stripping of .ts sources. */
const NODE_REQUIRED = [22, 18];

function nodeTooOld(version) {
  const [major, minor] = version.split('.').map(Number);
  return major < NODE_REQUIRED[0] || (major === NODE_REQUIRED[0] && minor < NODE_REQUIRED[1]);
}

if (nodeTooOld(process.versions.node)) {
  process.stderr.write(
    `error: Kiln needs Node.js >= ${NODE_REQUIRED.join('.')}; ${process.execPath} is ${process.version}\n` +
      'hint: run `npm ci` in Kiln\'s directory, which installs Node 24 for bin/kiln (linux x64 only), or install Node >= 22.18\n',
  );
  process.exit(1);
}

/** Kiln's caches: $KILN_CACHE_HOME, else $XDG_CACHE_HOME, else ~/.cache; then kiln/. */
function kilnCacheDir(env) {
  const base = [env.KILN_CACHE_HOME, env.XDG_CACHE_HOME].find((dir) => dir && isAbsolute(dir)) ?? join(homedir(), '.cache');
  return join(base, 'kiln');
}

/**
 * `mkdir -p`, one level at a time. Not fs's recursive mode, nor left to enableCompileCache(): on Node 24 both
 * spin forever when mkdir answers ENOENT under a parent that exists (e.g. anywhere below /proc).
 */
function makeDirs(dir) {
  if (existsSync(dir)) return true;
  const parent = dirname(dir);
  if (parent === dir || !makeDirs(parent)) return false;
  try {
    mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    return err?.code === 'EEXIST';
  }
}

let cacheDir;
try {
  cacheDir = kilnCacheDir(process.env);
  const dir = join(cacheDir, 'node-compile-cache');
  // A directory Kiln cannot write only makes start-up slower: Node reports it in the result and does not throw.
  if (makeDirs(dir)) nodeModule.enableCompileCache(dir);
} catch {
  // homedir() throws when neither $HOME nor the passwd database names one: run without the caches.
}

// The bundle of these sources when it is up to date (scripts/bundle.mjs), with its code cache
// (bundle-loader.mjs); KILN_FROM_SOURCE=1 runs the sources anyway (debugging: stack traces name src/ files).
const fresh = process.env.KILN_FROM_SOURCE === '1' ? undefined : freshBundle(fileURLToPath(new URL('../..', import.meta.url)));
// NODE_DISABLE_COMPILE_CACHE=1 (Node's switch for its own cache) turns this one off too.
const cacheFile = fresh && cacheDir && !process.env.NODE_DISABLE_COMPILE_CACHE ? codeCacheFile(cacheDir, fresh.built) : undefined;
const bundle = fresh ? loadBundle(fresh.file, cacheFile) : undefined;
const { main } = bundle ? bundle.exports : await import('./main.ts');
const args = process.argv.slice(2);
const code = await main(args);
// A build's functions are the ones worth a cache (not --help's); written once (bundle-loader.mjs).
if (bundle && !bundle.cacheUsed && cacheFile && code === 0 && (args[0] === 'build' || args[0] === 'executor') && makeDirs(dirname(cacheFile))) bundle.saveCodeCache();
// Exit as soon as the command is done: its result is written and reported (stdout and stderr are synchronous
// for files, pipes and terminals on Linux), the 'exit' handlers still run (the xattr server, temp dirs), and
// Node's teardown of the environment (workers, heap), ~20 ms on the bench's small build, is skipped.
process.exit(code);
