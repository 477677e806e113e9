/**
 * Usage: node warm-compile-cache.mjs KILN_DIR CACHE_DIR
 * Fills Node's compile cache for every module of Kiln (type-stripped sources and V8 code cache) at image build
 * time, so the first build in a fresh container starts as fast as a warm one. Importing every module (rather
 * than running one build) covers the code paths a sample build would not reach: registries, RUN, archives.
 * Both forms of Kiln: the sources (run once an edit makes the bundle stale) in Node's compile cache, and the
 * bundle (dist/kiln.cjs, what entry.mjs runs) in its code cache beside it (src/cli/bundle-loader.mjs), as
 * compiled once its top level ran. Run it under the V8 flags of the executor's #! line (--liftoff-only): V8
 * refuses a cache made under other flags.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [kilnDir, cacheDir] = process.argv.slice(2);
if (!kilnDir || !cacheDir) throw new Error('usage: warm-compile-cache.mjs KILN_DIR CACHE_DIR');
const result = enableCompileCache(cacheDir);
if (!result.directory) throw new Error(`compile cache not enabled: ${result.message ?? result.status}`);

function modules(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    // entry.mjs runs the CLI when imported.
    return /\.(ts|mjs)$/.test(entry.name) && entry.name !== 'entry.mjs' ? [path] : [];
  });
}

const files = modules(join(kilnDir, 'src')).sort();
for (const file of files) await import(pathToFileURL(file).href);
flushCompileCache();
console.log(`compile cache: ${files.length} modules (and their dependencies) in ${result.directory}`);

// CACHE_DIR is KILN_CACHE_HOME/kiln/node-compile-cache: the code cache goes where entry.mjs looks, beside it.
const { codeCacheFile, loadBundle } = await import(pathToFileURL(join(kilnDir, 'src/cli/bundle-loader.mjs')).href);
const { built } = JSON.parse(readFileSync(join(kilnDir, 'dist', 'bundle.json'), 'utf8'));
const cacheFile = codeCacheFile(dirname(cacheDir), built);
mkdirSync(dirname(cacheFile), { recursive: true });
if (!loadBundle(join(kilnDir, 'dist', 'kiln.cjs'), cacheFile).saveCodeCache()) throw new Error(`could not write ${cacheFile}`);
console.log(`code cache: ${cacheFile}`);
