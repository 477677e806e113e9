/**
 * Extended attributes carried in PAX records (`SCHILY.xattr.<name>=<raw bytes>`, as GNU tar, Go's archive/tar
 * and containerd write them). tar-stream 3 decodes PAX values as UTF-8 text, which corrupts binary values such as
 * `security.capability` (bytes ≥ 0x80 become U+FFFD). So the raw PAX block is decoded again here, bytewise.
 */
import type { Extract } from 'tar-stream';

export const PAX_XATTR_PREFIX = 'SCHILY.xattr.';

/** Key under which the raw xattrs are attached to tar-stream's pax object (and so to `header.pax`). */
const RAW_XATTRS = Symbol('kiln.rawXattrs');

type PaxWithRaw = Record<string, string> & { [RAW_XATTRS]?: Map<string, Buffer> };

/** The `SCHILY.xattr.*` records of one PAX extended header block, values as raw bytes. */
export function decodePaxXattrs(block: Buffer): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  let offset = 0;
  while (offset < block.length) {
    const space = block.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number.parseInt(block.toString('latin1', offset, space), 10);
    if (!(length > 0) || offset + length > block.length) break;
    const record = block.subarray(space + 1, offset + length - 1); // without the trailing newline
    const equals = record.indexOf(0x3d);
    if (equals > 0) {
      const key = record.toString('utf8', 0, equals);
      if (key.startsWith(PAX_XATTR_PREFIX)) {
        xattrs.set(key.slice(PAX_XATTR_PREFIX.length), Buffer.from(record.subarray(equals + 1)));
      }
    }
    offset += length;
  }
  return xattrs;
}

interface ExtractInternals {
  _header: { type?: string } | null;
  _pax: PaxWithRaw | null;
  _decodeLongHeader?: (buf: Buffer) => void;
}

/**
 * Makes `extract` keep the raw bytes of PAX xattrs, read back with `rawXattrsOf(header.pax)`.
 * Relies on tar-stream 3's `_decodeLongHeader`; answers false (and changes nothing) if it is absent.
 * Global (`g`) PAX xattrs are not carried: no layer writer emits them.
 */
export function captureRawPaxXattrs(extract: Extract): boolean {
  const internals = extract as unknown as ExtractInternals;
  const original = internals._decodeLongHeader;
  if (typeof original !== 'function') return false;
  internals._decodeLongHeader = function decodeLongHeader(this: ExtractInternals, buf: Buffer): void {
    original.call(this, buf);
    if (this._header?.type !== 'pax-header' || this._pax === null) return;
    const xattrs = decodePaxXattrs(buf);
    if (xattrs.size > 0) this._pax[RAW_XATTRS] = xattrs;
  };
  return true;
}

/** xattrs of an entry: raw bytes when captured, else the (possibly lossy) decoded PAX strings. */
export function xattrsOf(pax: Record<string, string> | null | undefined): Map<string, Buffer> {
  if (!pax) return new Map();
  const raw = (pax as PaxWithRaw)[RAW_XATTRS];
  if (raw !== undefined) return raw;
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(pax)) {
    if (key.startsWith(PAX_XATTR_PREFIX)) xattrs.set(key.slice(PAX_XATTR_PREFIX.length), Buffer.from(value, 'utf8'));
  }
  return xattrs;
}
