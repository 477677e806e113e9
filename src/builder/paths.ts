/** Paths relative to WORKDIR, as BuildKit's system.NormalizeWorkdir and NormalizePath compute them. */
import { posix } from 'node:path';

/** WORKDIR: an absolute path is kept as written; a relative one is joined to the current dir (and cleaned). */
export function normalizeWorkdir(current: string | undefined, requested: string): string {
  if (requested.startsWith('/')) return requested;
  return posix.join('/', current || '/', requested);
}

/** A COPY/ADD destination resolved against WORKDIR; a trailing "/" or "/." is kept (it means "a directory"). */
export function destRelativeToWorkdir(workdir: string | undefined, dest: string): string {
  let p = dest;
  if (!p.startsWith('/') && (p === '.' || p === '')) p = './';
  let out = posix.normalize(p.startsWith('/') ? p : posix.join(workdir || '/', p));
  if (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  if (p.endsWith('/') && !out.endsWith('/')) out += '/';
  else if (p.endsWith('/.')) out = (out === '/' ? '/' : `${out}/`) + '.';
  return out;
}
