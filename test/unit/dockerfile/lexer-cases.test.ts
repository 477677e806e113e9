/**
 * BuildKit's own lexer tables (frontend/dockerfile/shell/envVarTest and wordsTest), read from the
 * shared conformance directory, driven the way lex_test.go drives them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envFromList, processWord, processWords } from '../../../src/dockerfile/shell/index.ts';
import { conformanceCorpus } from '../../env/requirements.ts';

const corpus = conformanceCorpus('lexer-cases/wordsTest');
const lexerDir = join(corpus.dir ?? '', 'lexer-cases');

function outcome(fn: () => string | string[]): string | string[] {
  try {
    return fn();
  } catch {
    return 'error';
  }
}

test('envVarTest: every A and U line expands as BuildKit', { skip: corpus.skip }, () => {
  const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
  const lines = readFileSync(join(lexerDir, 'envVarTest'), 'utf8').split('\n');
  const failures: string[] = [];
  let checked = 0;
  let windowsOnly = 0;
  lines.forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split('|');
    assert.equal(fields.length, 3, `envVarTest:${i + 1} must have 3 fields`);
    const [platform, source, expected] = fields.map((f) => f.trim());
    assert.ok(['A', 'U', 'W'].includes(platform), `envVarTest:${i + 1}: bad platform ${platform}`);
    if (platform === 'W') {
      windowsOnly++;
      return;
    }
    checked++;
    const got = outcome(() => processWord(source, env));
    if (got !== expected) failures.push(`envVarTest:${i + 1}: ${JSON.stringify(source)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
  });
  console.log(`envVarTest: ${checked - failures.length}/${checked} lines passed (${windowsOnly} Windows-only lines not applicable)`);
  assert.ok(checked > 200, `only ${checked} lines read`);
  assert.deepEqual(failures, []);
});

test('wordsTest: every line splits into BuildKit\'s words', { skip: corpus.skip }, () => {
  const lines = readFileSync(join(lexerDir, 'wordsTest'), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const envList: string[] = [];
  const failures: string[] = [];
  let checked = 0;
  lines.forEach((line, i) => {
    if (line.startsWith('#')) return;
    if (line.startsWith('ENV ')) {
      // Trailing blanks of the value are significant.
      envList.push(line.slice(3).replace(/^ +/, ''));
      return;
    }
    const fields = line.split('|');
    assert.equal(fields.length, 2, `wordsTest:${i + 1} must have exactly one |`);
    const input = fields[0].trim();
    const expected = fields[1].replace(/^ +/, '').split(',');
    checked++;
    const got = outcome(() => processWords(input, envFromList(envList)));
    const gotWords = typeof got === 'string' ? [got] : got;
    if (JSON.stringify(gotWords) !== JSON.stringify(expected)) {
      failures.push(`wordsTest:${i + 1}: ${JSON.stringify(input)} → ${JSON.stringify(gotWords)}, want ${JSON.stringify(expected)}`);
    }
  });
  console.log(`wordsTest: ${checked - failures.length}/${checked} lines passed`);
  assert.ok(checked > 20, `only ${checked} lines read`);
  assert.deepEqual(failures, []);
});
