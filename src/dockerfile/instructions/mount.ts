/**
 * `RUN --mount=<csv>` as BuildKit's parseMount. BuildKit parses a mount twice: when the Dockerfile
 * is parsed only `from=` is read (it must not hold variables: the stage graph is built from it),
 * and at dispatch every value is expanded and the whole mount validated. mountFromBeforeExpansion
 * and parseMount are those two passes.
 */
import { InstructionSyntaxError } from './errors.ts';
import { goQuote } from '../shell/errors.ts';
import { withSuggestion } from './suggest.ts';
import type { CacheSharing, MountType, RunMount } from './types.ts';

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING_MODES: readonly CacheSharing[] = ['shared', 'private', 'locked'];
const KNOWN_KEYS = [
  'type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst',
  'ro', 'rw', 'readwrite', 'size', 'env', 'destination',
];

/** The `from=` of a mount spec before expansion; throws when it holds a variable. */
export function mountFromBeforeExpansion(spec: string): string | undefined {
  let from: string | undefined;
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    if (field.slice(0, eq).toLowerCase() !== 'from') continue;
    const value = field.slice(eq + 1);
    if (/\$./s.test(value)) {
      throw new InstructionSyntaxError(`'from' doesn't support variable expansion, define alias stage instead`);
    }
    from = value;
  }
  return from;
}

/** Parses and validates one mount; `expand` is applied to every value (not to keys). */
export function parseMount(spec: string, expand: (word: string) => string = (word) => word): RunMount {
  const mount: MutableMount = { type: 'bind', readOnly: false, required: false };
  let readOnlyAuto = true;
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        mount.readOnly = true;
        readOnlyAuto = false;
        continue;
      }
      if (key === 'readwrite' || key === 'rw') {
        mount.readOnly = false;
        readOnlyAuto = false;
        continue;
      }
      if (key === 'required') {
        requireSecretOrSsh(key, mount.type);
        mount.required = true;
        continue;
      }
      throw new InstructionSyntaxError(`invalid field '${field}' must be a key=value pair`);
    }
    const value = expand(field.slice(eq + 1));
    if (applyOption(mount, key, value, field)) readOnlyAuto = false;
  }
  if (readOnlyAuto) mount.readOnly = !(mount.type === 'cache' || mount.type === 'tmpfs');
  validateMount(mount);
  return mount;
}

type MutableMount = { -readonly [K in keyof RunMount]: RunMount[K] };

/** Applies one key=value; returns true when it set read-only explicitly. */
function applyOption(mount: MutableMount, key: string, value: string, field: string): boolean {
  switch (key) {
    case 'type': {
      const type = value.toLowerCase();
      if (!(MOUNT_TYPES as readonly string[]).includes(type)) {
        throw new InstructionSyntaxError(withSuggestion(`unsupported mount type ${goQuote(value)}`, value, MOUNT_TYPES, true));
      }
      mount.type = type as MountType;
      return false;
    }
    case 'from':
      mount.from = value;
      return false;
    case 'source':
    case 'src':
      mount.source = value;
      return false;
    case 'target':
    case 'dst':
    case 'destination':
      mount.target = value;
      return false;
    case 'readonly':
    case 'ro':
      mount.readOnly = parseGoBool(key, value);
      return true;
    case 'readwrite':
    case 'rw':
      mount.readOnly = !parseGoBool(key, value);
      return true;
    case 'required':
      requireSecretOrSsh(key, mount.type);
      mount.required = parseGoBool(key, value);
      return false;
    case 'size':
      if (mount.type !== 'tmpfs') throw unexpectedKey(key, mount.type);
      mount.size = parseRamBytes(key, value);
      return false;
    case 'env':
      if (mount.type !== 'secret') throw unexpectedKey(key, mount.type);
      mount.env = value;
      return false;
    case 'id':
      mount.id = value;
      return false;
    case 'sharing': {
      const sharing = value.toLowerCase();
      if (!(SHARING_MODES as readonly string[]).includes(sharing)) {
        throw new InstructionSyntaxError(`unsupported sharing value ${goQuote(value)}`);
      }
      mount.sharing = sharing as CacheSharing;
      return false;
    }
    case 'mode':
      mount.mode = parseUint32(value, 8, `invalid value ${value} for mode`);
      return false;
    case 'uid':
      mount.uid = parseUint32(value, 10, `invalid value ${value} for uid`);
      return false;
    case 'gid':
      mount.gid = parseUint32(value, 10, `invalid value ${value} for gid`);
      return false;
    default:
      throw new InstructionSyntaxError(withSuggestion(`unexpected key '${key}' in '${field}'`, key, KNOWN_KEYS, true));
  }
}

function validateMount(mount: MutableMount): void {
  const fileInfoAllowed = mount.type === 'secret' || mount.type === 'ssh' || mount.type === 'cache';
  for (const name of ['mode', 'uid', 'gid'] as const) {
    if (mount[name] !== undefined && !fileInfoAllowed) {
      throw new InstructionSyntaxError(`${name} not allowed for ${goQuote(mount.type)} type mounts`);
    }
  }
  if (mount.sharing !== undefined && mount.type !== 'cache') {
    throw new InstructionSyntaxError(`invalid cache sharing set for ${mount.type} mount`);
  }
  if (mount.type === 'secret') {
    if (mount.from !== undefined && mount.from !== '') throw new InstructionSyntaxError('secret mount should not have a from');
    if (!mount.source && !mount.target && !mount.id) {
      throw new InstructionSyntaxError('invalid secret mount. one of source, target required');
    }
    if (mount.source && mount.id) throw new InstructionSyntaxError("both source and id can't be set");
  }
}

function requireSecretOrSsh(key: string, type: MountType): void {
  if (type !== 'secret' && type !== 'ssh') throw unexpectedKey(key, type);
}

function unexpectedKey(key: string, type: MountType): InstructionSyntaxError {
  return new InstructionSyntaxError(`unexpected key '${key}' for mount type '${type}'`);
}

/** Go's strconv.ParseBool. */
function parseGoBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new InstructionSyntaxError(`invalid value for ${key}: ${value}`);
}

function parseUint32(value: string, radix: 8 | 10, message: string): number {
  const digits = radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(value)) throw new InstructionSyntaxError(message);
  const parsed = Number.parseInt(value, radix);
  if (parsed > 0xffffffff) throw new InstructionSyntaxError(message);
  return parsed;
}

const RAM_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: "64m", "1.5g", "512 KiB" (binary units). */
export function parseRamBytes(key: string, value: string): number {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  const number = match ? Number.parseFloat(match[1]) : Number.NaN;
  if (!match || Number.isNaN(number)) throw new InstructionSyntaxError(`invalid value for ${key}: ${value}`);
  return Math.trunc(number * RAM_UNITS[(match[2] ?? '').toLowerCase()]);
}

/** One record of Go's encoding/csv with default settings (what BuildKit feeds the flag through). */
export function splitCsv(line: string): string[] {
  if (line === '') throw new InstructionSyntaxError('failed to parse csv mounts: EOF');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) {
          throw new InstructionSyntaxError(`failed to parse csv mounts: parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        }
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') {
        throw new InstructionSyntaxError(`failed to parse csv mounts: parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') {
          throw new InstructionSyntaxError(`failed to parse csv mounts: parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        }
        field += line[i++];
      }
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++;
  }
}
