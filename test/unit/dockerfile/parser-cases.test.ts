/**
 * BuildKit's own parser test files (frontend/dockerfile/parser/testfiles): each `Dockerfile` must dump to its
 * `result`; the `neg-*` ones must fail to parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDockerfile } from '../../../src/dockerfile/parser.ts';
import { dumpDockerfile } from '../../../src/dockerfile/dump.ts';
import { isKilnError } from '../../../src/errors.ts';
import { conformanceCorpus } from '../../env/requirements.ts';

const corpus = conformanceCorpus('parser-cases');

if (corpus.dir === undefined) {
  test("BuildKit's parser cases", { skip: corpus.skip }, () => {});
} else {
  const casesDir = join(corpus.dir, 'parser-cases');
  const names = readdirSync(casesDir).sort();
  test('the parser case set is complete', () => {
    assert.ok(names.length >= 37, `expected at least 37 cases, found ${names.length}`);
  });
  for (const name of names) {
    const dockerfile = readFileSync(join(casesDir, name, 'Dockerfile'), 'utf8');
    if (name.startsWith('neg-')) {
      test(`parser case ${name} fails to parse`, () => {
        assert.throws(
          () => parseDockerfile(dockerfile),
          (err: unknown) => isKilnError(err) && err.code === 'DOCKERFILE_PARSE',
        );
      });
    } else {
      test(`parser case ${name}`, () => {
        const expected = readFileSync(join(casesDir, name, 'result'), 'utf8').replaceAll('\r\n', '\n');
        assert.deepEqual(dumpDockerfile(parseDockerfile(dockerfile)).split('\n'), expected.split('\n'));
      });
    }
  }
}
