/**
 * COPY/ADD --chown=user[:group] as BuildKit resolves it: each part is a number (or `root`) or a name; names are
 * looked up in the destination rootfs's /etc/passwd and /etc/group. A user number also sets the group to the
 * same number; a user name sets the user's primary group; an explicit group then overrides it.
 *
 * BuildKit (solver/llbsolver/ops/user_linux.go) maps a name it cannot find — or a missing passwd/group file —
 * to 0 without an error. `strict` turns that into an error instead.
 */
import { readFileSync } from 'node:fs';
import { KilnError } from '../../errors.ts';
import { resolveInRoot } from '../../fs/extract/safe-path.ts';

export interface Owner {
  uid: number;
  gid: number;
}

export interface ResolveChownOptions {
  /** Fail on names the rootfs does not define (BuildKit silently uses 0). Default false. */
  strict?: boolean;
}

type IdOrName = { id: number } | { name: string };

function parsePart(text: string): IdOrName {
  if (text === 'root') return { id: 0 };
  // Go's strconv.ParseInt(s, 10, 32): optional sign, decimal digits, fits in int32.
  if (/^[+-]?[0-9]+$/.test(text)) {
    const value = Number(text);
    if (value >= -(2 ** 31) && value < 2 ** 31) {
      if (value < 0) throw new KilnError('COPY_INVALID_CHOWN', `invalid --chown id "${text}": ids must not be negative`);
      return { id: value };
    }
  }
  return { name: text };
}

/** Records of a colon-separated database file inside the rootfs; [] when the file does not exist. */
function readDatabase(rootfs: string, file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(resolveInRoot(rootfs, file, { followFinal: true }), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => line.split(':'));
}

/** Go's strconv.Atoi as moby/sys/user uses it: unparsable numbers read as 0. */
function numberField(text: string | undefined): number {
  return text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : 0;
}

function unknown(kind: 'user' | 'group', name: string, strict: boolean): void {
  if (strict) {
    throw new KilnError('COPY_UNKNOWN_OWNER', `unable to find ${kind} ${name}: no matching entries in ${kind === 'user' ? 'passwd' : 'group'} file`, {
      hint: `add the ${kind} to the image first, or use a numeric id`,
    });
  }
}

/** Resolves a --chown value against the rootfs the files are copied into. */
export function resolveChown(spec: string, rootfs: string, options: ResolveChownOptions = {}): Owner {
  const strict = options.strict ?? false;
  const colon = spec.indexOf(':');
  const userText = colon === -1 ? spec : spec.slice(0, colon);
  const groupText = colon === -1 ? undefined : spec.slice(colon + 1);
  const owner: Owner = { uid: 0, gid: 0 };

  // An empty user part is an unnamed user, which BuildKit's LLB encodes as id 0.
  const user = userText === '' ? { id: 0 } : parsePart(userText);
  if ('id' in user) {
    owner.uid = user.id;
    owner.gid = user.id;
  } else {
    const entry = readDatabase(rootfs, '/etc/passwd').find((fields) => fields[0] === user.name);
    if (entry === undefined) unknown('user', user.name, strict);
    else {
      owner.uid = numberField(entry[2]);
      owner.gid = numberField(entry[3]);
    }
  }

  if (groupText !== undefined && groupText !== '') {
    const group = parsePart(groupText);
    if ('id' in group) owner.gid = group.id;
    else {
      const entry = readDatabase(rootfs, '/etc/group').find((fields) => fields[0] === group.name);
      if (entry === undefined) unknown('group', group.name, strict);
      else owner.gid = numberField(entry[2]);
    }
  } else if (groupText === '') {
    // `user:` names an empty group, which BuildKit's LLB encodes as group id 0.
    owner.gid = 0;
  }
  return owner;
}
