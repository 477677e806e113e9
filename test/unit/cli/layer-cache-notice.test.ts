import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBuildArgv } from '../../../src/cli/build-options.ts';

test('--cache=true without a cache repo says once that layers are not cached', (t) => {
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cache-notice-'));
  t.after(() => fs.rmSync(ctx, { recursive: true, force: true }));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\n');
  const about = (notices: string[]) => notices.filter((n) => /layers are not cached/.test(n));
  const cached = parseBuildArgv(['-c', ctx, '-d', 'reg.example/app', '--cache=true', '--cache-dir', '/warm'], {}, ctx);
  assert.equal(about(cached.notices).length, 1);
  assert.match(about(cached.notices)[0], /--cache=true: .*--cache-dir \/warm/);
  assert.deepEqual(about(parseBuildArgv(['-c', ctx, '-d', 'reg.example/app'], {}, ctx).notices), []);
});
