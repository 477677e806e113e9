/** What both snapshotters (overlay upper dir, double walk) hand to the layer writer. */
import type { TarEntry } from '../tar-entry.ts';

export interface SnapshotResult {
  /** Layer entries in layer order (compareTarPaths), whiteouts included, file content read from disk. */
  entries: TarEntry[];
  /**
   * Paths the step changed, in layer form ("etc/passwd"), sorted: added or modified entries and deleted
   * paths (the topmost deleted path of a removed tree). Parent directories included only for structure
   * are not listed.
   */
  changedPaths: string[];
}
