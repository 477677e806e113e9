/**
 * File capabilities: the binary `security.capability` xattr (struct vfs_cap_data / vfs_ns_cap_data in
 * linux/capability.h) turned into the text form `setcap` reads, so they can be written without an xattr API.
 */

const REVISION_MASK = 0xff000000;
const REVISION_1 = 0x01000000;
const REVISION_2 = 0x02000000;
const REVISION_3 = 0x03000000;
const FLAG_EFFECTIVE = 0x000001;

export interface FileCapabilities {
  /** Text for `setcap`, e.g. "10,13=ep 7=i" (libcap accepts capability numbers for names). */
  text: string;
  /** Owner uid of the user namespace (revision 3), 0 otherwise: `setcap -n <rootid>`. */
  rootid: number;
}

/** Decodes a `security.capability` value; undefined when it is not a known revision or is truncated. */
export function decodeFileCapabilities(value: Buffer): FileCapabilities | undefined {
  if (value.length < 4) return undefined;
  const magic = value.readUInt32LE(0);
  const revision = (magic & REVISION_MASK) >>> 0;
  const words = revision === REVISION_1 ? 1 : revision === REVISION_2 || revision === REVISION_3 ? 2 : 0;
  const expectedLength = 4 + words * 8 + (revision === REVISION_3 ? 4 : 0);
  if (words === 0 || value.length < expectedLength) return undefined;
  const effective = (magic & FLAG_EFFECTIVE) !== 0;
  const flagsByCap = new Map<number, string>();
  for (let word = 0; word < words; word++) {
    const permitted = value.readUInt32LE(4 + word * 8);
    const inheritable = value.readUInt32LE(8 + word * 8);
    for (let bit = 0; bit < 32; bit++) {
      const p = (permitted >>> bit) & 1;
      const i = (inheritable >>> bit) & 1;
      if (!p && !i) continue;
      flagsByCap.set(word * 32 + bit, (effective ? 'e' : '') + (i ? 'i' : '') + (p ? 'p' : ''));
    }
  }
  const capsByFlags = new Map<string, number[]>();
  for (const [cap, flags] of flagsByCap) {
    const caps = capsByFlags.get(flags) ?? [];
    caps.push(cap);
    capsByFlags.set(flags, caps);
  }
  const clauses = [...capsByFlags].map(([flags, caps]) => `${caps.join(',')}=${flags}`);
  const rootid = revision === REVISION_3 ? value.readUInt32LE(4 + words * 8) : 0;
  // An empty set is a valid (if useless) xattr: "=" clears every capability, setcap still writes it.
  return { text: clauses.length > 0 ? clauses.join(' ') : '=', rootid };
}
