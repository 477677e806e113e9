/**
 * Usage: node scripts/bundle.mjs [--outdir DIR]     (npm ci runs it as the `prepare` script; `npm run bundle`)
 *
 * Bundles Kiln's sources into one CommonJS file, dist/kiln.cjs, with esbuild: src/cli/main.ts and everything it
 * imports. npm packages stay outside (required from node_modules as before). A dynamic import() of a module
 * becomes a call that evaluates it on first use, so what a build loads lazily (the registry client, RUN,
 * COPY, cloud credentials) still costs nothing until it is used. One script rather than ES modules: entry.mjs
 * compiles it with a V8 code cache written after a build ran (src/cli/bundle-loader.mjs), which holds the
 * functions the build compiled, not only the top level that Node's module compile cache keeps (bench/startup.md).
 *
 * src/cli/entry.mjs runs dist/kiln.cjs only while dist/bundle.json is newer than every source file in the
 * bundle (listed in it; src/cli/fresh-bundle.mjs); after an edit it runs src/ again until the next bundle.
 *
 * The files Kiln's modules find beside them (launcher.pl, xattr-server.pl, hash-worker.cjs, bundled-tools.json)
 * stay where they are: each module's `import.meta.url` is replaced by its source file's URL, computed relative
 * to the bundle, so `new URL('./launcher.pl', import.meta.url)` names the same file from dist/ as from src/.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--outdir');
const outdir = resolve(outIndex > 0 ? process.argv[outIndex + 1] : join(root, 'dist'));

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without dev dependencies (npm ci --omit=dev): Kiln runs from src/, only its start is slower.
  console.log('bundle: esbuild is not installed; Kiln runs from src/');
  process.exit(0);
}

/**
 * esbuild plugin: `import.meta.url` of each source module becomes that file's URL, relative to the bundle's
 * (`__filename`, the file the loader compiled); `import.meta.main` is false (the CLI's entry is entry.mjs).
 */
const sourceLocations = {
  name: 'kiln-source-locations',
  setup(build) {
    build.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => {
      const fromBundle = relative(outdir, args.path);
      const contents = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.url', `new URL(${JSON.stringify(fromBundle)}, require('node:url').pathToFileURL(__filename)).href`)
        .replaceAll('import.meta.main', 'false');
      return { contents, loader: 'ts' };
    });
  },
};

// Sources newer than this instant are newer than the bundle: the stamp gets the time the build started.
const started = new Date();
const staging = `${outdir}.new-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
try {
  const result = await esbuild.build({
    entryPoints: { kiln: join(root, 'src/cli/main.ts') },
    outdir: staging,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node22.18',
    packages: 'external',
    charset: 'utf8',
    logLevel: 'warning',
    plugins: [sourceLocations],
    metafile: true,
  });
  // The sources in the bundle, relative to Kiln's directory: what fresh-bundle.mjs compares the stamp with.
  const inputs = Object.keys(result.metafile.inputs).map((file) => relative(root, resolve(file)))
    .filter((file) => file.startsWith('src/')).sort();
  const stamp = join(staging, 'bundle.json');
  writeFileSync(stamp, JSON.stringify({ built: started.toISOString(), inputs }, null, 2) + '\n');
  utimesSync(stamp, started, started);
  rmSync(outdir, { recursive: true, force: true });
  renameSync(staging, outdir);
} catch (err) {
  rmSync(staging, { recursive: true, force: true });
  throw err;
}
console.log(`bundle: ${relative(process.cwd(), outdir) || '.'}/kiln.cjs`);
