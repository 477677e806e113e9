/**
 * `--secret env=` values never touch persistent disk (issue 14, item 4): a build is SIGKILLed while a step
 * holds the secret as a file and in its environment, and nothing Kiln leaves in its work dir contains it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { baseImageLayout } from '../../env/base-images.ts';
import { KILN, context, tempDir } from './kiln-process.ts';

function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    else if (st.isFile() && fs.readFileSync(p).includes(needle)) hits.push(p);
  };
  walk(dir);
  return hits;
}

test('a SIGKILLed build leaves no --secret env= value on disk', { skip: process.getuid?.() !== 0 ? 'needs root' : false }, async (t) => {
  const work = tempDir(t, 'kiln-work-');
  const value = `kiln-secret-${process.pid}-${Date.now()}`;
  const marker = `kiln-secret-step-${process.pid}`;
  const ctx = context(t, {
    Dockerfile: `FROM busybox\nRUN --mount=type=secret,id=s --mount=type=secret,id=s,env=S sh -c 'echo "run"ning-${marker}; sleep 30; echo ${marker}'\n`,
  });
  const child = spawn(KILN, ['build', '-c', ctx, '--no-push', '--oci-layout-path', path.join(work, 'oci'), '--secret', 'id=s,env=SECRET_VALUE',
    '--base-image-source', `busybox=oci:${await baseImageLayout('busybox')}`], {
    env: { ...process.env, NO_COLOR: '1', KILN_WORK_DIR: work, SECRET_VALUE: value }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  for (let i = 0; i < 400 && !output.includes(`running-${marker}`); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(output.includes(`running-${marker}`), output);
  child.kill('SIGKILL');
  await closed;
  for (let i = 0; i < 100 && execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(marker); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(fs.readdirSync(work).length > 0, 'the killed build left its work dir (what is checked)');
  assert.deepEqual(filesContaining(work, value), []);
});
