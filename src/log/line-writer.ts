/**
 * A RUN step's output as log lines, for `--log-format=json` (every line Kiln writes is then JSON): each line
 * becomes an entry with `stream` = stdout or stderr. Invalid UTF-8 is replaced, as JSON needs text.
 */
import { StringDecoder } from 'node:string_decoder';
import { Writable } from 'node:stream';
import type { Logger } from './logger.ts';

export interface LineWriter extends Writable {
  /** Logs what is left of an unfinished last line (the step's output ended without a newline). */
  flush(): void;
}

export function logLines(logger: Logger, stream: 'stdout' | 'stderr'): LineWriter {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (line: string): void => logger.info(line.replace(/\r$/, ''), { stream });
  const writer = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending += decoder.write(chunk);
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
      callback();
    },
  }) as LineWriter;
  writer.flush = () => {
    pending += decoder.end();
    if (pending !== '') emit(pending);
    pending = '';
  };
  return writer;
}
