/**
 * Streaming a big layer allocates a fresh Buffer per MiB at several stages (tar batches, deflate output, file
 * reads). Their memory lives outside V8's heap, and V8 only collects it once it sees about 64 MB of it: a
 * 256 MiB layer then held ~80 MB of dead buffers (measured: peak RSS 168 MB; 120 MB collecting as below). A
 * minor GC does not release them (measured); a full one does. `gc` is not exposed
 * without a flag; setting the flag at run time and reading `gc` from a new context is the known way round.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options?: { type?: 'minor' | 'major'; execution?: 'sync' }) => void;

let gc: Gc | undefined | null = null;

function loadGc(): Gc | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as Gc;
  } catch {
    return undefined;
  }
}

/** Runs a full collection (the dead Buffers' memory is released with it). */
export function collectGarbage(): void {
  if (gc === null) gc = loadGc();
  gc?.({ type: 'major' });
}

/**
 * Counts streamed bytes; every `every` bytes, collects when Buffers hold more than `limit` bytes. A collection
 * costs ~5-30 ms, so it runs only when the garbage is there (a 256 MiB layer: ~20 times). The limit is above
 * what a layer write keeps alive (~10 MB: tar read-ahead, chunks in flight, the blob writer's buffer); at
 * 32 MB, the bigfile benchmark (256 MiB of random data) peaked at 139-143 MB, at 16 MB at 129-132 MB, no slower.
 */
export function garbageCollector(
  every = 8 * 1024 * 1024,
  limit = 16 * 1024 * 1024,
  /** Bytes of Buffers known to be alive (a pool's), above the limit. */
  kept: () => number = () => 0,
): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    if (process.memoryUsage().arrayBuffers > limit + kept()) collectGarbage();
  };
}
