/**
 * Writing extended attributes without an xattr API in Node: batched calls of `setfattr --restore` (package
 * `attr`) when it is installed, which writes any xattr; otherwise `setcap` (package `libcap2-bin`) for
 * `security.capability`, the one xattr images commonly carry (e.g. ping's cap_net_raw). Anything else is
 * skipped and reported, as containerd does for xattrs the filesystem does not support.
 */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../errors.ts';
import { decodeFileCapabilities } from './capability.ts';
import { bundledTool } from '../../bundled-tools.ts';

export interface XattrWrite {
  /** Host path, already checked to be inside the root and to be the entry the layer wrote. */
  path: string;
  isSymlink: boolean;
  name: string;
  value: Buffer;
}

/** argv prefixes that start the tools (see findTool), or undefined where a tool is missing. */
export interface XattrTools {
  setfattr: string[] | undefined;
  setcap: string[] | undefined;
}

export interface XattrWriteResult {
  written: number;
  skipped: number;
}

const CAPABILITY = 'security.capability';
/** Keeps argv well below ARG_MAX (2 MiB here) even with long paths. */
const SETCAP_BATCH = 200;

/** Finds an executable on PATH (and the sbin directories root's PATH usually has), without spawning. */
export function findExecutable(name: string, searchPath: string = process.env.PATH ?? ''): string | undefined {
  const dirs = [...searchPath.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** argv prefix that starts `name`: the copy Kiln's image carries (bundled-tools.ts), else the one on PATH. */
export function findTool(name: string): string[] | undefined {
  const bundled = bundledTool(name);
  if (bundled) return bundled;
  const found = findExecutable(name);
  return found === undefined ? undefined : [found];
}

export function findXattrTools(): XattrTools {
  return { setfattr: findTool('setfattr'), setcap: findTool('setcap') };
}

/** Writes all xattrs with as few processes as possible. */
export function writeXattrs(writes: readonly XattrWrite[], tools: XattrTools, warn: (message: string) => void): XattrWriteResult {
  if (writes.length === 0) return { written: 0, skipped: 0 };
  if (tools.setfattr !== undefined) return writeWithSetfattr(writes, tools.setfattr);
  let skipped = 0;
  const capabilities: XattrWrite[] = [];
  for (const write of writes) {
    if (write.name === CAPABILITY && !write.isSymlink && tools.setcap !== undefined) capabilities.push(write);
    else {
      skipped += 1;
      warn(`xattr ${write.name} of ${write.path} not restored: install setfattr (Debian package "attr") to restore xattrs other than file capabilities`);
    }
  }
  const result = writeWithSetcap(capabilities, tools.setcap ?? ['setcap'], warn);
  return { written: result.written, skipped: skipped + result.skipped };
}

/** Escapes a path the way getfattr dumps it (octal for control characters, backslash and newline). */
function escapeDumpPath(path: string): string {
  return path.replace(/[\\\x00-\x20\x7f]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

function writeWithSetfattr(writes: readonly XattrWrite[], setfattr: string[]): XattrWriteResult {
  const lines: string[] = [];
  let current: string | undefined;
  for (const write of writes) {
    if (write.path !== current) {
      lines.push('', `# file: ${escapeDumpPath(write.path)}`);
      current = write.path;
    }
    lines.push(`${write.name}=0x${write.value.toString('hex')}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kiln-xattrs-'));
  try {
    const dump = join(dir, 'dump');
    writeFileSync(dump, lines.join('\n') + '\n');
    // -h: never follow a symlink; the paths were checked, their targets were not.
    runTool(setfattr, ['-h', `--restore=${dump}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { written: writes.length, skipped: 0 };
}

function writeWithSetcap(writes: readonly XattrWrite[], setcap: string[], warn: (message: string) => void): XattrWriteResult {
  let skipped = 0;
  const byRootid = new Map<number, string[]>();
  for (const write of writes) {
    const caps = decodeFileCapabilities(write.value);
    if (caps === undefined) {
      skipped += 1;
      warn(`security.capability of ${write.path} not restored: unknown format (${write.value.toString('hex')})`);
      continue;
    }
    const args = byRootid.get(caps.rootid) ?? [];
    args.push(caps.text, write.path);
    byRootid.set(caps.rootid, args);
  }
  for (const [rootid, pairs] of byRootid) {
    for (let i = 0; i < pairs.length; i += SETCAP_BATCH * 2) {
      runTool(setcap, ['-n', String(rootid), ...pairs.slice(i, i + SETCAP_BATCH * 2)]);
    }
  }
  return { written: writes.length - skipped, skipped };
}

function runTool(command: string[], args: string[]): void {
  const [program, ...prefix] = command;
  const result = spawnSync(program, [...prefix, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.error !== undefined || result.status !== 0) {
    const detail = result.error?.message ?? result.stderr.trim();
    throw new KilnError('LAYER_XATTR_FAILED', `restoring extended attributes with ${program} failed: ${detail}`, {
      hint: 'the root filesystem directory must be on a filesystem that supports xattrs (and the process needs CAP_SETFCAP for file capabilities)',
    });
  }
}
