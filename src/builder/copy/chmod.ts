/**
 * COPY/ADD --chmod. An octal value up to 07777 replaces the permission and setuid/setgid/sticky bits; any
 * other text is a symbolic mode as chmod(1) reads it (BSD setmode, the dchapes-mode package BuildKit uses):
 * clauses `[ugoa]*[+-=][rwxXst]*|[ugo]` separated by commas, `X` only with `+`. BuildKit parses symbolic modes
 * with a zero umask, so a clause without a who (`+x`) affects everyone.
 */
import { KilnError } from '../../errors.ts';

export interface ChmodSpec {
  /** Octal mode (0–0o7777). */
  mode?: number;
  /** Symbolic mode text, e.g. `u+x,g-w`. */
  symbolic?: string;
}

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const RWXU = 0o700;
const RWXG = 0o070;
const RWXO = 0o007;
const STANDARD_BITS = S_ISUID | S_ISGID | RWXU | RWXG | RWXO;
const READ_ALL = 0o444;
const WRITE_ALL = 0o222;
const EXEC_ALL = 0o111;

type Command =
  | { kind: '+' | '-' | 'X'; bits: number }
  /** Copy the current u, g or o permissions onto the classes in `to`. */
  | { kind: 'copy'; from: 'u' | 'g' | 'o'; to: { u: boolean; g: boolean; o: boolean }; bits: number; clear: boolean; set: boolean };

export interface ModeSet {
  readonly commands: readonly Command[];
}

function nonOctal(text: string): KilnError {
  return new KilnError('COPY_INVALID_CHMOD', `invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`);
}

/** Parses a --chmod value; throws KilnError with BuildKit's message when it is neither octal nor symbolic. */
export function parseChmod(text: string): ChmodSpec {
  if (/^[0-7]+$/.test(text)) {
    const value = Number.parseInt(text, 8);
    if (value > 0o7777) throw nonOctal(text);
    return { mode: value };
  }
  // dchapes-mode reads a value starting with a digit as a number: a non-octal one is BuildKit's numeric error.
  if (text === '' || /^[0-9]/.test(text)) throw nonOctal(text);
  compileSymbolicMode(text);
  return { symbolic: text };
}

function syntaxError(text: string): KilnError {
  return new KilnError('COPY_INVALID_CHMOD', `invalid chmod parameter: '${text}': invalid syntax`, {
    hint: 'use an octal mode such as 0755 or a symbolic one such as u+x,go-w',
  });
}

/** Compiles a symbolic mode; throws KilnError on a syntax error. */
export function compileSymbolicMode(text: string, umask = 0): ModeSet {
  const mask = ~umask & 0o7777;
  const commands: Command[] = [];
  let s = text;
  const add = (op: string, who: number, arg: number): void => {
    if (op === '=') {
      commands.push({ kind: '-', bits: who !== 0 ? who : STANDARD_BITS });
      op = '+';
    }
    commands.push({ kind: op as '+' | '-' | 'X', bits: who !== 0 ? who & arg : mask & arg });
  };
  const addCopy = (from: 'u' | 'g' | 'o', who: number, op: string): void => {
    const to = who !== 0 ? { u: (who & 0o400) !== 0, g: (who & 0o040) !== 0, o: (who & 0o004) !== 0 } : { u: true, g: true, o: true };
    commands.push({ kind: 'copy', from, to, bits: who !== 0 ? 0o7777 : mask, clear: op !== '+', set: op !== '-' });
  };
  for (;;) {
    let who = 0;
    for (; s.length > 0; s = s.slice(1)) {
      const ch = s[0];
      if (ch === 'a') who |= STANDARD_BITS;
      else if (ch === 'u') who |= S_ISUID | RWXU;
      else if (ch === 'g') who |= S_ISGID | RWXG;
      else if (ch === 'o') who |= RWXO;
      else break;
    }
    for (;;) {
      if (s.length === 0) throw syntaxError(text);
      const op = s[0];
      s = s.slice(1);
      if (op !== '+' && op !== '-' && op !== '=') throw syntaxError(text);
      let equalDone = false;
      who &= ~S_ISVTX;
      let perm = 0;
      let permX = 0;
      for (;; s = s.slice(1)) {
        const ch = s.length > 0 ? s[0] : '';
        if (ch === 'r') perm |= READ_ALL;
        else if (ch === 'w') perm |= WRITE_ALL;
        else if (ch === 'x') perm |= EXEC_ALL;
        else if (ch === 'X') {
          if (op === '+') permX = EXEC_ALL;
        } else if (ch === 's') {
          if (who === 0 || (who & ~RWXO) !== 0) perm |= S_ISUID | S_ISGID;
        } else if (ch === 't') {
          if (who === 0 || (who & ~RWXO) !== 0) {
            who |= S_ISVTX;
            perm |= S_ISVTX;
          }
        } else if (ch === 'u' || ch === 'g' || ch === 'o') {
          if (perm !== 0) {
            add(op, who, perm);
            perm = 0;
          }
          if (op === '=') equalDone = true;
          if (permX !== 0) {
            add('X', who, permX);
            permX = 0;
          }
          addCopy(ch, who, op);
        } else {
          if (perm !== 0 || (op === '=' && !equalDone)) {
            if (op === '=') equalDone = true;
            add(op, who, perm);
          }
          if (permX !== 0) add('X', who, permX);
          break;
        }
      }
      if (s.length === 0 || s[0] === ',') break;
    }
    if (s.length === 0) break;
    s = s.slice(1);
  }
  return { commands };
}

/** Applies a compiled symbolic mode to a mode's low 12 bits (`isDir` matters for `X`). */
export function applyModeSet(set: ModeSet, mode: number, isDir: boolean): number {
  const original = mode & 0o7777;
  let next = original;
  for (const command of set.commands) {
    if (command.kind === '+') next |= command.bits;
    else if (command.kind === '-') next &= ~command.bits;
    else if (command.kind === 'X') {
      if ((original & EXEC_ALL) !== 0 || isDir) next |= command.bits;
    } else if (command.kind === 'copy') {
      const shift = command.from === 'u' ? 6 : command.from === 'g' ? 3 : 0;
      const value = (next >> shift) & 0o7;
      const targets: number[] = [];
      if (command.to.u) targets.push(6);
      if (command.to.g) targets.push(3);
      if (command.to.o) targets.push(0);
      if (command.clear) {
        const clearValue = command.set ? 0o7 : value;
        for (const t of targets) next &= ~((clearValue << t) & command.bits);
      }
      if (command.set) {
        for (const t of targets) next |= (value << t) & command.bits;
      }
    }
  }
  return next & 0o7777;
}

/** The mode a copied entry gets: the source's bits, replaced by an octal --chmod or changed by a symbolic one. */
export function modeWithChmod(sourceMode: number, chmod: ChmodSpec | undefined, compiled: ModeSet | undefined, isDir: boolean): number {
  const bits = sourceMode & 0o7777;
  if (compiled !== undefined) return applyModeSet(compiled, bits, isDir);
  if (chmod?.mode !== undefined) return chmod.mode & 0o7777;
  return bits;
}
