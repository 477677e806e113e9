/** Where the test environment keeps its cache and finds the conformance data. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Cache shared between runs (certificates, base image layouts). */
export function envCacheDir(): string {
  return process.env.KILN_TEST_CACHE ?? join(homedir(), '.cache', 'kiln-test');
}

/** The BuildKit conformance data, or undefined when this checkout has none next to it. */
export function conformanceDir(): string | undefined {
  const dir = process.env.KILN_CONFORMANCE_DIR ?? resolve(repoRoot, '..', 'shared', 'conformance');
  return existsSync(join(dir, 'reference')) ? dir : undefined;
}
