/** Reading the conformance corpus: case metadata, references, and a writable copy of a case's context. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Reference } from './compare.ts';

export interface CaseMeta {
  name: string;
  tier: string;
  build: { file: string; args: Record<string, string> | null; target: string | null };
  base_images: string[];
  prereq: string[];
  offline: 'yes' | 'apt';
  context_modes: Record<string, string>;
}

export function conformanceDir(): string | undefined {
  const repoRoot = path.resolve(import.meta.dirname, '..', '..');
  const dir = process.env.KILN_CONFORMANCE_DIR ?? path.resolve(repoRoot, '..', 'shared', 'conformance');
  return fs.existsSync(path.join(dir, 'cases')) ? dir : undefined;
}

export function listCases(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'meta')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadMeta(dir: string, name: string): CaseMeta {
  return JSON.parse(fs.readFileSync(path.join(dir, 'meta', `${name}.json`), 'utf8'));
}

export function loadReference(dir: string, name: string): Reference {
  return JSON.parse(fs.readFileSync(path.join(dir, 'reference', `${name}.json`), 'utf8'));
}

/** Copies the case's context (symlinks kept) into a fresh temp dir and re-applies its recorded modes. */
export function prepareContext(dir: string, meta: CaseMeta): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-conf-${meta.name}-`));
  const ctx = path.join(work, 'context');
  execFileSync('cp', ['-a', path.join(dir, 'cases', meta.name), ctx]);
  execFileSync('chmod', ['-R', 'u+w', ctx]);
  for (const [rel, mode] of Object.entries(meta.context_modes ?? {})) {
    const file = path.join(ctx, rel.replace(/\/$/, ''));
    if (mode.startsWith('symlink->')) {
      // A checkout without symlink support stores a link as a file holding its target: make it a link again.
      const target = mode.slice('symlink->'.length);
      if (!fs.lstatSync(file).isSymbolicLink()) {
        fs.rmSync(file);
        fs.symlinkSync(target, file);
      }
      continue;
    }
    fs.chmodSync(file, parseInt(mode, 8));
  }
  fs.chmodSync(ctx, 0o755);
  return ctx;
}

export function needsRegistry(meta: CaseMeta): boolean {
  return meta.base_images.some((b) => b !== 'scratch');
}
