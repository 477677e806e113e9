/** Worker side of DeflatePool: raw-deflates one chunk with the previous chunk's tail as dictionary. */
import { parentPort } from 'node:worker_threads';
import { deflateRawChunk, type DeflateJob } from './deflate-chunk.ts';

parentPort!.on('message', (job: DeflateJob & { id: number }) => {
  try {
    const out = deflateRawChunk(job);
    parentPort!.postMessage({ id: job.id, out }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: String(err) });
  }
});
