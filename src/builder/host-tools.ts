/**
 * Host programs a build cannot do without, checked when the build starts (in place: before `/` is emptied).
 * Without getfattr/setfattr Kiln would still produce an image, a wrong one: overlay opaque directories read as
 * plain ones (deleted files come back), file capabilities and other xattrs vanish. A clear failure is better.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageInstruction } from '../dockerfile/instructions/index.ts';
import type { Stage } from '../dockerfile/stages.ts';
import { KilnError } from '../errors.ts';
import { bundledTool } from '../bundled-tools.ts';

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
  if (bundledTool(name)) return true;
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

/** Whether the instructions write or read a filesystem (COPY, ADD, RUN). */
function touchesFiles(instructions: readonly StageInstruction[]): boolean {
  return instructions.some((i) => i.kind === 'COPY' || i.kind === 'ADD' || i.kind === 'RUN');
}

/** The instructions of the stages, their base stages' ONBUILD triggers included. */
export function stageInstructions(stages: readonly Stage[]): StageInstruction[] {
  return stages.flatMap((s) => [...s.onbuildTriggers, ...s.instructions]);
}

/** The tools running `instructions` needs that this host lacks. */
export function missingHostTools(instructions: readonly StageInstruction[], searchPath: string = process.env.PATH ?? ''): Tool[] {
  if (!touchesFiles(instructions)) return [];
  return XATTR_TOOLS.filter((t) => !onPath(t.name, searchPath));
}

/**
 * Fails before anything starts when a tool the instructions need is missing: called with every stage's
 * instructions when the build starts, and with a base image's ONBUILD triggers once it is pulled.
 */
export function checkHostTools(instructions: readonly StageInstruction[], searchPath?: string): void {
  const missing = missingHostTools(instructions, searchPath);
  if (missing.length === 0) return;
  const names = missing.map((t) => t.name).join(', ');
  const pkgs = [...new Set(missing.map((t) => t.pkg))].join(' ');
  throw new KilnError('HOST_TOOL_MISSING', `${names} not found on PATH: Kiln needs ${missing.length > 1 ? 'them' : 'it'} for this build (${missing.map((t) => `${t.name} ${t.why}`).join('; ')})`, {
    hint: `install ${pkgs} (e.g. apt-get install ${pkgs}; apk add ${pkgs}) or put the tools on PATH`,
  });
}
