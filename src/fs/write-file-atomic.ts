/** Writes a whole small file so readers see the old content or the new, never a part: temp sibling + rename. */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';

export function writeFileAtomic(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
