/** Metadata of a layer entry as it should land on disk, PAX records taking precedence over the ustar fields. */
import type tar from 'tar-stream';

export type Header = Omit<tar.Header, 'pax'> & { pax?: Record<string, string> | null };

export function modeOf(header: Header): number {
  return (header.mode ?? 0o644) & 0o7777;
}

/** PAX uid/gid win: tar-stream reads only the octal fields, which overflow above 2097151. */
export function ownerOf(header: Header): { uid: number; gid: number } {
  const paxUid = header.pax?.uid;
  const paxGid = header.pax?.gid;
  return {
    uid: paxUid !== undefined ? Number.parseInt(paxUid, 10) : header.uid ?? 0,
    gid: paxGid !== undefined ? Number.parseInt(paxGid, 10) : header.gid ?? 0,
  };
}

/** [atime, mtime] in seconds; PAX times keep sub-second precision; atime follows mtime as in containerd. */
export function entryTimes(header: Header): [number, number] {
  const paxMtime = header.pax?.mtime;
  const mtime = paxMtime !== undefined && Number.isFinite(Number(paxMtime))
    ? Number(paxMtime)
    : (header.mtime?.getTime() ?? 0) / 1000;
  return [mtime, mtime];
}
