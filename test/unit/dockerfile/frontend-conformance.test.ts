/**
 * Loads every conformance case's Dockerfile through the front end (load + dispatch check, nothing
 * executed) and expects it to fail exactly when BuildKit refused the case, with BuildKit's message.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KilnError } from '../../../src/errors.ts';
import { loadDockerfile } from '../../../src/dockerfile/index.ts';
import { checkDispatch } from './dispatch-check.ts';
import { conformanceCorpus } from '../../env/requirements.ts';

const corpus = conformanceCorpus('cases');
const conformanceDir = corpus.dir ?? '';

/** Cases whose BuildKit failure is not a front-end matter (none known yet). */
const NOT_FRONT_END: ReadonlySet<string> = new Set();

interface CaseMeta {
  build: { file: string; args?: Record<string, string>; target?: string | null };
}

interface Reference {
  build: 'ok' | 'fails' | 'skipped';
  error?: string;
}

const linuxAmd64 = { os: 'linux', architecture: 'amd64' };

function frontEnd(name: string): { ok: true } | { ok: false; error: KilnError } {
  const meta = JSON.parse(readFileSync(join(conformanceDir, 'meta', `${name}.json`), 'utf8')) as CaseMeta;
  const text = readFileSync(join(conformanceDir, 'cases', name, meta.build.file), 'utf8');
  try {
    const loaded = loadDockerfile(text, {
      file: meta.build.file,
      buildArgs: new Map(Object.entries(meta.build.args ?? {})),
      ...(meta.build.target ? { target: meta.build.target } : {}),
      targetPlatform: linuxAmd64,
      buildPlatform: linuxAmd64,
    });
    checkDispatch(loaded, { buildArgs: loaded.buildArgs, escapeToken: loaded.escapeToken });
    return { ok: true };
  } catch (err) {
    if (err instanceof KilnError) return { ok: false, error: err };
    throw err;
  }
}

describe('front end on the conformance corpus', () => {
  if (corpus.dir === undefined) {
    it('every case of the corpus', { skip: corpus.skip }, () => {});
    return;
  }
  const names = readdirSync(join(conformanceDir, 'cases')).filter((name) => existsSync(join(conformanceDir, 'reference', `${name}.json`)));
  it('finds the cases', () => {
    assert.ok(names.length > 0);
  });
  for (const name of names.sort()) {
    it(name, () => {
      const reference = JSON.parse(readFileSync(join(conformanceDir, 'reference', `${name}.json`), 'utf8')) as Reference;
      if (reference.build === 'skipped' || NOT_FRONT_END.has(name)) return;
      const result = frontEnd(name);
      if (reference.build === 'ok') {
        assert.ok(result.ok, result.ok ? '' : `front end refused a case BuildKit built: ${result.error.describe()}`);
        return;
      }
      assert.ok(!result.ok, `front end accepted a case BuildKit refused: ${reference.error ?? ''}`);
      // BuildKit's report is "error: failed to solve: <message>".
      const message = result.error.message;
      assert.ok(reference.error?.includes(message), `expected BuildKit's error ${JSON.stringify(reference.error)} to contain ${JSON.stringify(message)}`);
    });
  }
});
