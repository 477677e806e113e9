/**
 * What a test needs from the machine: root, a tool, the BuildKit conformance corpus. Locally an unmet need
 * skips the test with its reason, and `npm test` lists every skip at the end (test/env/skip-summary.ts). With
 * CI=true (`.ci/run` sets it) nothing may be skipped: an unmet need adds a failing test that names it, so a CI
 * run without root, a Debian package or the corpus fails instead of passing with less checked.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { conformanceDir } from './paths.ts';

export const inCI = process.env.CI === 'true';

const HOW_TO_FIX =
  'with CI=true every test must run: run as root, install the Debian packages (scripts/install-test-deps.sh) and keep the ' +
  'conformance corpus at ../shared/conformance (or set KILN_CONFORMANCE_DIR)';

/** `reason` when a need is unmet (false/undefined when met), as node:test's `skip` option; fails the run in CI. */
export function unmet(reason: string | false | undefined): string | false {
  if (!reason) return false;
  if (inCI) {
    test(`test environment: ${reason}`, () => {
      throw new Error(`${reason}: ${HOW_TO_FIX}`);
    });
  }
  return reason;
}

/** Skip reason unless running as root. */
export function unlessRoot(why: string): string | false {
  return unmet(process.getuid?.() === 0 ? false : `needs root (${why})`);
}

/** The conformance corpus directory (with `sub` inside it), or the skip reason when it is absent. */
export function conformanceCorpus(sub = ''): { dir: string; skip: false } | { dir: undefined; skip: string } {
  const dir = conformanceDir();
  if (dir !== undefined && existsSync(join(dir, sub))) return { dir, skip: false };
  const where = process.env.KILN_CONFORMANCE_DIR ?? '../shared/conformance';
  return { dir: undefined, skip: unmet(`conformance corpus not found at ${join(where, sub)} (set KILN_CONFORMANCE_DIR)`) as string };
}
