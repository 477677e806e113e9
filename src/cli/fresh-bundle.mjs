/**
 * Whether Kiln runs from its bundle (dist/, made by scripts/bundle.mjs) or from its sources (src/).
 *
 * Plain JavaScript, like entry.mjs, which asks before any .ts module loads. The bundle is used only while its
 * stamp (dist/bundle.json, dated when the bundle was started) is newer than every file under src/: an edited or
 * added source means the sources run, so a checkout never runs code older than what it holds. Directories'
 * times are not compared: a module added, removed or renamed matters only through an edit of a module that
 * imports it, and a COPY into an image dates the directory it creates (`COPY src /kaniko/kiln/src`) when it
 * runs, not as the source directory. ~5 ms for Kiln's ~280 entries.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The newest modification time of a file under `dir`, in ms; stops early once past `limit`. */
function newestFileUnder(dir, limit) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (newest > limit) break;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestFileUnder(path, limit) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The file URL of the bundle's main module under `root` (Kiln's directory) when it is present and newer than
 * every file in `root`/src; otherwise undefined (run the sources). Any error reading either means undefined.
 */
export function freshBundle(root) {
  try {
    const stamp = statSync(join(root, 'dist', 'bundle.json')).mtimeMs;
    if (newestFileUnder(join(root, 'src'), stamp) > stamp) return undefined;
    return pathToFileURL(join(root, 'dist', 'main.js')).href;
  } catch {
    return undefined;
  }
}
