/**
 * The fallback xattr reader: `getfattr` (package attr), one spawn per tree or per batch of paths, for where the
 * xattr server cannot run (xattr-server.ts). Without getfattr, nothing is read.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { toolCommand } from '../../bundled-tools.ts';
import type { RawXattrs } from './xattr-server.ts';

/** Keeps argv well below ARG_MAX (2 MiB here, shared with the environment). */
const ARGV_BYTES = 256 * 1024;
const DUMP = ['-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names'];

/** getfattr escapes unprintable bytes in file names as \ooo and '\' as \\. */
function unescapeName(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length + 1 && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else if (raw[i] === 0x5c && raw[i + 1] === 0x5c) {
      bytes.push(0x5c);
      i++;
    } else bytes.push(raw[i]);
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(unescapeName(v.slice(1, -1)), 'utf8');
  return Buffer.from(v, 'utf8');
}

/** Parses `getfattr -d -e base64 --absolute-names` output into absolute path → attributes kept by `filter`. */
export function parseGetfattr(output: string, filter: (name: string) => boolean): Map<string, RawXattrs> {
  const result = new Map<string, RawXattrs>();
  let current: RawXattrs | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      result.set(unescapeName(line.slice('# file: '.length)), current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || line === '' || line.startsWith('#')) continue;
    const name = eq < 0 ? line : line.slice(0, eq);
    if (!filter(name)) continue;
    current[name] = eq < 0 ? Buffer.alloc(0) : decodeValue(line.slice(eq + 1));
  }
  for (const [k, v] of result) if (Object.keys(v).length === 0) result.delete(k);
  return result;
}

function getfattr(args: readonly string[]): Map<string, RawXattrs> | undefined {
  const [program, ...prefix] = toolCommand('getfattr');
  const r = spawnSync(program!, [...prefix, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return r.error ? undefined : parseGetfattr(r.stdout, () => true);
}

/** Raw xattrs of every entry under `absRoot` keyed by relative path, symlinks not followed (`getfattr -R -P`). */
export function getfattrTreeXattrs(absRoot: string): Map<string, RawXattrs> {
  const out = new Map<string, RawXattrs>();
  for (const [p, attrs] of getfattr(['-R', '-P', ...DUMP, absRoot]) ?? []) out.set(path.relative(absRoot, p), attrs);
  return out;
}

/** Splits paths into argv-sized batches. */
export function argvBatches(paths: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const p of paths) {
    const size = Buffer.byteLength(p) + 1;
    if (current.length > 0 && bytes + size > ARGV_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Raw xattrs of each absolute path, index-aligned (undefined: none, missing, or getfattr not installed). */
export function getfattrPathXattrs(absPaths: readonly string[]): (RawXattrs | undefined)[] {
  const found = new Map<string, RawXattrs>();
  for (const batch of argvBatches(absPaths)) {
    const parsed = getfattr([...DUMP, '--', ...batch]);
    if (parsed === undefined) break;
    for (const [p, attrs] of parsed) found.set(p, attrs);
  }
  return absPaths.map((p) => found.get(p));
}
