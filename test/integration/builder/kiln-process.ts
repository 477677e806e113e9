/** Runs bin/kiln as a child process without blocking the test's event loop (the token server lives in it). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const KILN = path.resolve(import.meta.dirname, '..', '..', '..', 'bin', 'kiln');

export interface KilnRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface StartedKiln {
  child: ChildProcess;
  /** Resolves when the process has exited and its output is closed. */
  done: Promise<KilnRun>;
}

/** Starts bin/kiln; the caller may signal `child` while it runs. */
export function startKiln(args: readonly string[], env: NodeJS.ProcessEnv = {}): StartedKiln {
  const child = spawn(KILN, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<KilnRun>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
  return { child, done };
}

export function kiln(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<KilnRun> {
  return startKiln(args, env).done;
}

export function tempDir(t: { after(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A context dir with the given files (name → content). */
export function context(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = tempDir(t, 'kiln-ctx-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
