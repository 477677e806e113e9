/**
 * Compares a builder's image summary with a BuildKit reference, per ../shared/conformance/README.md
 * ("How a builder is compared"). Returns the first difference that fails the case, and warnings.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileEntry, Summary } from './summarize.ts';

export interface Reference extends Summary {
  error?: string;
  volatile?: string[];
  ignore?: string[];
  files_base?: string;
  files_removed?: string[];
}

export interface Verdict {
  pass: boolean;
  /** The first difference, when the case fails. */
  difference?: string;
  warnings: string[];
}

const NOT_COMPARED_EXACT = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/etc/mtab', '/.dockerenv', '/run/.containerenv', '/run/secrets']);
const NOT_COMPARED_PREFIXES = ['/proc/', '/sys/', '/dev/', '/run/secrets/'];
const PRESENCE_ONLY_PATTERNS = [
  '/etc/shadow', '/etc/shadow-', '/etc/ld.so.cache', '/var/cache/man/**', '/var/cache/ldconfig/aux-cache', '/var/log/**', '/var/cache/debconf/*',
  '/var/lib/dpkg/*-old', '/var/cache/apt/*.bin', '/var/lib/apt/lists/**', '**/__pycache__/**', '**/*.pyc',
  '/root/.wget-hsts', '/root/.bash_history', '/root/.cache/**', '/tmp/**', '/var/tmp/**',
].map(globToRegExp);

const ENTRY_FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'target', 'dev', 'link', 'xattrs'] as const;

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') { re += '.*'; i++; }
    else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function notCompared(p: string, ignore: Set<string>): boolean {
  return NOT_COMPARED_EXACT.has(p) || NOT_COMPARED_PREFIXES.some((x) => p.startsWith(x)) || ignore.has(p);
}

function presenceOnly(p: string, volatile: Set<string>): boolean {
  return volatile.has(p) || PRESENCE_ONLY_PATTERNS.some((r) => r.test(p));
}

/** The reference's full file tree (expanding the delta form against a base summary). */
export function referenceFiles(ref: Reference, basesDir: string): Record<string, FileEntry> {
  if (!ref.files_base) return ref.files ?? {};
  const base = JSON.parse(fs.readFileSync(path.join(basesDir, `${ref.files_base}.json`), 'utf8')) as Summary;
  const files: Record<string, FileEntry> = { ...(base.files ?? {}) };
  for (const p of ref.files_removed ?? []) delete files[p];
  return Object.assign(files, ref.files ?? {});
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function normaliseCreatedBy(s: string): string {
  return s.replace(/ # buildkit$/, '').replace(/^\/bin\/sh -c #\(nop\) /, '').replace(/\s+/g, ' ').trim();
}

function compareFiles(actual: Record<string, FileEntry>, expected: Record<string, FileEntry>, ref: Reference): string | undefined {
  const ignore = new Set(ref.ignore ?? []);
  const volatile = new Set(ref.volatile ?? []);
  const paths = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const p of [...paths].sort()) {
    if (notCompared(p, ignore)) continue;
    const a = actual[p];
    const e = expected[p];
    if (!a) return `missing ${p} (${e.type})`;
    if (!e) return `unexpected ${p} (${a.type})`;
    if (a.type !== e.type) return `${p}: type ${a.type}, expected ${e.type}`;
    if (presenceOnly(p, volatile)) continue;
    for (const f of ENTRY_FIELDS) {
      if (!same(a[f], e[f])) return `${p}: ${f} ${JSON.stringify(a[f] ?? null)}, expected ${JSON.stringify(e[f] ?? null)}`;
    }
  }
  return undefined;
}

function compareConfig(actual: Record<string, unknown>, expected: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(expected)) {
    let a = actual[key];
    let e = expected[key];
    if (key === 'WorkingDir') { a = a ?? '/'; e = e ?? '/'; }
    if (!same(a, e)) return `config.${key}: ${JSON.stringify(a ?? null)}, expected ${JSON.stringify(e ?? null)}`;
  }
  return undefined;
}

function historyWarnings(actual: Summary, ref: Reference): string[] {
  const warnings: string[] = [];
  const a = actual.history ?? [];
  const e = ref.history ?? [];
  if (a.length !== e.length) warnings.push(`history has ${a.length} entries, expected ${e.length}`);
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    if (normaliseCreatedBy(a[i].created_by) !== normaliseCreatedBy(e[i].created_by) || a[i].empty_layer !== e[i].empty_layer) {
      warnings.push(`history[${i}]: ${JSON.stringify(a[i])}, expected ${JSON.stringify(e[i])}`);
      break;
    }
  }
  if (actual.layers !== ref.layers) warnings.push(`${actual.layers} non-empty layers, expected ${ref.layers}`);
  return warnings;
}

/** `actual` is undefined when the build failed. */
export function compareWithReference(actual: Summary | undefined, ref: Reference, basesDir: string): Verdict {
  if (ref.build === 'skipped') return { pass: true, warnings: ['reference skipped: no verdict'] };
  if (ref.build === 'fails') {
    return actual ? { pass: false, difference: 'build succeeded, BuildKit fails it', warnings: [] } : { pass: true, warnings: [] };
  }
  if (!actual) return { pass: false, difference: 'build failed', warnings: [] };
  const difference =
    (same(actual.platform, ref.platform) ? undefined : `platform ${JSON.stringify(actual.platform)}, expected ${JSON.stringify(ref.platform)}`) ??
    compareConfig(actual.config ?? {}, ref.config ?? {}) ??
    compareFiles(actual.files ?? {}, referenceFiles(ref, basesDir), ref);
  return { pass: difference === undefined, difference, warnings: historyWarnings(actual, ref) };
}
