import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderFlagsMarkdown, renderHelp } from '../../../src/cli/flag-help.ts';
import { FLAGS } from '../../../src/cli/kaniko-flags.ts';

const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/flags.md');

test('docs/flags.md is generated from the flag table (KILN_UPDATE_DOCS=1 rewrites it)', () => {
  const want = renderFlagsMarkdown();
  if (process.env.KILN_UPDATE_DOCS === '1') fs.writeFileSync(DOC, want);
  assert.equal(fs.readFileSync(DOC, 'utf8'), want, 'docs/flags.md is stale: run KILN_UPDATE_DOCS=1 node --test test/unit/cli/flags-doc.test.ts');
  for (const f of FLAGS) assert.ok(want.includes(`\`--${f.name}\``), `--${f.name} documented`);
});

test('--help lists every visible flag, its shorthand, deprecated alias and status', () => {
  const help = renderHelp('build');
  for (const f of FLAGS) {
    if (f.hidden) {
      assert.ok(!help.includes(`--${f.name} `), `--${f.name} hidden`);
      continue;
    }
    assert.match(help, new RegExp(`(-${f.short ?? 'NONE'}, )?--${f.name}[ \\[\\n]`), `--${f.name} in help`);
    for (const a of f.aliases ?? []) assert.ok(help.includes(`--${a.name}`), `alias --${a.name} in help`);
  }
  assert.match(help, /-c, --context/);
  // A flag's entry runs until the next line that starts a flag.
  const entry = (name: string): string => help.slice(help.indexOf(`--${name} `)).split(/\n {2}(?=-)/)[0];
  const later = FLAGS.find((f) => f.status === 'later' && !f.hidden);
  if (later) assert.match(entry(later.name), /not supported yet/);
  assert.doesNotMatch(entry('cache-repo'), /not supported yet/);
});
