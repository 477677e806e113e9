import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { bundledToolsFile, parseBundledTools, perlCommand } from '../../src/bundled-tools.ts';

describe('bundled tools (the perl of Kiln\'s image)', () => {
  it('reads tool name → argv prefix, leaving out malformed entries', () => {
    const tools = parseBundledTools(JSON.stringify({
      perl: ['/kaniko/lib/ld.so', '--library-path', '/kaniko/lib', '/kaniko/bin/perl'], empty: [], numbers: [1], text: 'perl',
    }));
    assert.deepEqual([...tools.keys()], ['perl']);
    assert.deepEqual(tools.get('perl'), ['/kaniko/lib/ld.so', '--library-path', '/kaniko/lib', '/kaniko/bin/perl']);
    assert.equal(parseBundledTools('null').size, 0);
    assert.throws(() => parseBundledTools('{'), SyntaxError);
  });

  it('lives beside Kiln\'s code, where the image puts it (not in a checkout)', () => {
    assert.match(bundledToolsFile, /\/bundled-tools\.json$/);
    assert.equal(existsSync(bundledToolsFile), false);
  });

  it('perl: $KILN_PERL first, else the host\'s perl in a checkout', () => {
    assert.deepEqual(perlCommand({ KILN_PERL: '/opt/perl/bin/perl' }), ['/opt/perl/bin/perl']);
    assert.deepEqual(perlCommand({}), ['perl']);
  });
});
