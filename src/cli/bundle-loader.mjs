/**
 * Runs Kiln's bundle (dist/kiln.cjs, made by scripts/bundle.mjs) with a V8 code cache of its own.
 *
 * Plain JavaScript, like entry.mjs. Node's module compile cache keeps each module's code as compiled before it
 * ran: its top level; every function a build calls is compiled again in every build. This loader compiles the
 * bundle as one script and, after the first successful build finds no cache (or V8 refuses it: another Node,
 * other flags), writes V8's cache of the script as it is then, with the functions that build compiled. Builds
 * after it start with them (bench/startup.md: ~40 ms less CPU, ~20 ms sooner on the bench's small build). The
 * cache is written once, not after every build: serializing it costs ~10 ms, and a build that needs other
 * functions compiles just those.
 *
 * One file per bundle, Node version and architecture in code-cache/ (the caller makes it); writing one keeps the
 * newest few others (OTHER_CACHES_KEPT). Written to a temporary name and renamed, so that concurrent builds
 * never read half a file; any error reading or writing it only costs the time it would save.
 */
import { readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';

const PREFIX = 'kiln-';
const SUFFIX = '.v8';

/**
 * The cache file of the bundle built at `built` (bundle.json's stamp) for this Node and architecture, in
 * code-cache/ of Kiln's cache directory (KILN_CACHE_HOME/kiln, beside Node's node-compile-cache/).
 */
export function codeCacheFile(kilnCacheDir, built) {
  const key = `${built}-${process.version}-${process.arch}`.replace(/[^A-Za-z0-9.-]/g, '_');
  return join(kilnCacheDir, 'code-cache', `${PREFIX}${key}${SUFFIX}`);
}

function readOrUndefined(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Compiles and evaluates `bundleFile` as Node would a CommonJS module, with `cacheFile`'s code cache when it
 * has one V8 accepts. Returns the bundle's exports and a function that writes the cache when it was missing or
 * refused (call it once the work it should remember is done).
 */
export function loadBundle(bundleFile, cacheFile) {
  const cached = cacheFile === undefined ? undefined : readOrUndefined(cacheFile);
  const script = new vm.Script(Module.wrap(readFileSync(bundleFile, 'utf8')), {
    filename: bundleFile,
    ...(cached === undefined ? {} : { cachedData: cached }),
    // The bundle's remaining import()s (none of Kiln's own modules: esbuild inlined those) go to Node's loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cacheUsed = cached !== undefined && !script.cachedDataRejected;
  const module = new Module(bundleFile);
  module.filename = bundleFile;
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundleFile), module, bundleFile, dirname(bundleFile));
  return {
    exports: module.exports,
    cacheUsed,
    saveCodeCache() {
      if (cacheUsed || cacheFile === undefined) return false;
      return writeCodeCache(cacheFile, script.createCachedData());
    },
  };
}

/**
 * Other bundles' caches kept beside a new one (the newest, ~0.8 MB each): two checkouts or versions of Kiln
 * sharing a cache home, used in turn, keep theirs instead of each rewriting its own every time.
 */
export const OTHER_CACHES_KEPT = 3;

/** Writes `data` as `cacheFile` (its directory exists); of the directory's other cache files, the newest stay. */
function writeCodeCache(cacheFile, data) {
  const dir = dirname(cacheFile);
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, cacheFile);
    const others = readdirSync(dir)
      .filter((name) => name.startsWith(PREFIX) && name.endsWith(SUFFIX) && join(dir, name) !== cacheFile)
      .map((name) => ({ file: join(dir, name), mtime: statSync(join(dir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { file } of others.slice(OTHER_CACHES_KEPT)) rmSync(file, { force: true });
    return true;
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // A directory Kiln cannot write: nothing was made.
    }
    return false;
  }
}
