/**
 * Usage: node warm-compile-cache.mjs KILN_DIR CACHE_DIR
 * Fills Node's compile cache for every module of Kiln (type-stripped sources and V8 code cache) at image build
 * time, so the first build in a fresh container starts as fast as a warm one. Importing every module (rather
 * than running one build) covers the code paths a sample build would not reach: registries, RUN, archives.
 * Both forms of Kiln: the bundle (dist/, what entry.mjs runs) and the sources (run once an edit makes it stale).
 */
import { readdirSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import { join } from 'node:path';
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

const bundle = join(kilnDir, 'dist');
const bundled = readdirSync(bundle).filter((name) => name.endsWith('.js')).map((name) => join(bundle, name));
const files = [...modules(join(kilnDir, 'src')), ...bundled].sort();
for (const file of files) await import(pathToFileURL(file).href);
flushCompileCache();
console.log(`compile cache: ${files.length} modules (and their dependencies) in ${result.directory}`);
