/**
 * Files the build reads from the context itself (the Dockerfile, `.dockerignore`) are resolved like COPY
 * sources: symlinks are followed inside the context, never out of it, so a hostile context cannot make Kiln
 * read (and echo in an error) a host file such as /etc/shadow. A path a flag names outside the context is the
 * user's own choice and is read as given.
 */
import path from 'node:path';
import { resolveInRoot } from '../fs/extract/safe-path.ts';

/** The host path to read for `file` (absolute): resolved inside `root` when it lies in the context. */
export function pathInContext(root: string, file: string): string {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return file;
  return resolveInRoot(root, rel.split(path.sep).join('/'), { followFinal: true });
}
