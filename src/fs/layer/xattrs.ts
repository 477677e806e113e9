/**
 * Extended attributes of a tree. Node has no xattr API, so one `getfattr -R` call (package attr) reads a
 * whole tree; without getfattr, no xattrs are read. Overlay bookkeeping and SELinux labels of the host are
 * never layer content.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { toolCommand } from '../../bundled-tools.ts';

export type XattrMap = Map<string, Record<string, Buffer>>;

export function defaultXattrFilter(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('user.overlay.') && name !== 'security.selinux';
}

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

/** Parses `getfattr -d -e base64 --absolute-names` output into absolute path → attributes. */
export function parseGetfattr(output: string, filter: (name: string) => boolean = defaultXattrFilter): XattrMap {
  const result: XattrMap = new Map();
  let current: Record<string, Buffer> | undefined;
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

/**
 * xattrs of every entry under `root` (not following symlinks), keyed by path relative to root. Returns an
 * empty map when getfattr is not installed.
 */
export function readTreeXattrs(root: string, filter: (name: string) => boolean = defaultXattrFilter): XattrMap {
  const abs = path.resolve(root);
  const [getfattr, ...prefix] = toolCommand('getfattr');
  const r = spawnSync(getfattr, [...prefix, '-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', abs], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.error) return new Map();
  const byAbs = parseGetfattr(r.stdout, filter);
  const out: XattrMap = new Map();
  for (const [p, attrs] of byAbs) out.set(path.relative(abs, p), attrs);
  return out;
}
