/**
 * Host programs a build cannot do without, checked when the build starts (in place: before `/` is emptied).
 * Without getfattr/setfattr Kiln would still produce an image, a wrong one: overlay opaque directories read as
 * plain ones (deleted files come back), file capabilities and other xattrs vanish. A clear failure is better.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Stage } from '../dockerfile/stages.ts';
import { KilnError } from '../errors.ts';

interface Tool {
  name: string;
  /** Debian package that provides it. */
  pkg: string;
  why: string;
}

const XATTR_TOOLS: readonly Tool[] = [
  { name: 'getfattr', pkg: 'attr', why: 'reads extended attributes and file capabilities (and overlay whiteouts) for layers' },
  { name: 'setfattr', pkg: 'attr', why: 'restores extended attributes and file capabilities in stage filesystems' },
];

/** Where `spawn(name)` would find it: PATH only, as the callers spawn these tools by name. */
function onPath(name: string, searchPath: string): boolean {
  return searchPath.split(':').some((dir) => {
    if (dir === '') return false;
    try {
      fs.accessSync(path.join(dir, name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether the stages write or read a filesystem (COPY, ADD, RUN, or ONBUILD triggers doing so). */
function touchesFiles(stages: readonly Stage[]): boolean {
  return stages.some((s) => [...s.onbuildTriggers, ...s.instructions].some((i) => i.kind === 'COPY' || i.kind === 'ADD' || i.kind === 'RUN'));
}

/** The tools the build of `stages` needs that this host lacks. */
export function missingHostTools(stages: readonly Stage[], searchPath: string = process.env.PATH ?? ''): Tool[] {
  if (!touchesFiles(stages)) return [];
  return XATTR_TOOLS.filter((t) => !onPath(t.name, searchPath));
}

/** Fails the build before it starts when a tool it needs is missing. */
export function checkHostTools(stages: readonly Stage[], searchPath?: string): void {
  const missing = missingHostTools(stages, searchPath);
  if (missing.length === 0) return;
  const names = missing.map((t) => t.name).join(', ');
  const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ');
  throw new KilnError('HOST_TOOL_MISSING', `${names} not found on PATH: Kiln needs ${missing.length > 1 ? 'them' : 'it'} for this build (${missing.map((t) => `${t.name} ${t.why}`).join('; ')})`, {
    hint: `install ${pkgs} (e.g. apt-get install ${pkgs}; apk add ${pkgs}) or put the tools on PATH`,
  });
}
