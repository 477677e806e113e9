/**
 * Whether Kiln runs from its bundle (dist/, made by scripts/bundle.mjs) or from its sources (src/).
 *
 * Plain JavaScript, like entry.mjs, which asks before any .ts module loads. The bundle is used only while its
 * stamp (dist/bundle.json, dated when the bundle was started) is newer than every source file it was made of
 * (listed in it): after an edit the sources run, so a checkout never runs code older than what it holds. A new
 * module matters only through an edit of a module that imports it; the files modules find beside them
 * (launcher.pl, …) are read from src/ either way. ~5 ms (260 stats) on the bench machine, against ~50–80 ms the
 * bundle saves.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bundle under `root` (Kiln's directory) when it is present and newer than every source in it: its file
 * and when it was built (bundle.json's `built`, which names its code cache); otherwise undefined (run the
 * sources). Any error reading them means undefined.
 */
export function freshBundle(root) {
  try {
    const stampFile = join(root, 'dist', 'bundle.json');
    const stamp = statSync(stampFile).mtimeMs;
    const { built, inputs } = JSON.parse(readFileSync(stampFile, 'utf8'));
    if (typeof built !== 'string' || !Array.isArray(inputs) || inputs.length === 0) return undefined;
    for (const file of inputs) if (statSync(join(root, file)).mtimeMs > stamp) return undefined;
    const file = join(root, 'dist', 'kiln.cjs');
    statSync(file);
    return { file, built };
  } catch {
    return undefined;
  }
}
