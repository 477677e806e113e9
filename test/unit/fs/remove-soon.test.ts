/** removeSoon (src/fs/remove-soon.ts): a tree goes without the caller waiting; a dir already gone is no error. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeSoon } from '../../../src/fs/remove-soon.ts';

async function gone(path: string): Promise<boolean> {
  for (let i = 0; i < 200 && existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
  return !existsSync(path);
}

test('removeSoon: the tree is still there when it returns, and gone soon after; a missing dir is fine', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'kiln-remove-soon-'));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, 'step');
  for (const sub of ['ns', 'work/work', 'mnt', 'pipes']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'plan'), 'plan');
  removeSoon(dir);
  assert.ok(existsSync(dir), 'not removed in the calling thread');
  assert.ok(await gone(dir), 'removed off the main thread');
  removeSoon(join(parent, 'never-there'));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(parent), 'the parent stays');
});
