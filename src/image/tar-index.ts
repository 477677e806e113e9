/**
 * Where each regular file of an uncompressed tarball lives (data offset and size), found by reading only
 * the headers, so members can be streamed later by byte range. Understands USTAR, PAX and GNU long names.
 */
import * as fs from 'node:fs';
import { KilnError } from '../errors.ts';

export interface TarMember {
  offset: number;
  size: number;
}

function octalField(buf: Buffer, offset: number, length: number): number {
  if (buf[offset] & 0x80) {
    // base-256 (GNU) for large values
    let value = 0;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + buf[i];
    return value;
  }
  const text = buf.toString('latin1', offset, offset + length).replace(/[\0 ]+.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function stringField(buf: Buffer, offset: number, length: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('utf8', offset, end < 0 || end > offset + length ? offset + length : end);
}

export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.toString('latin1', pos, space), 10);
    if (!len) break;
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq >= 0) out.set(record.toString('utf8', 0, eq), record.subarray(eq + 1));
    pos += len;
  }
  return out;
}

function normalizeName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

export function indexTar(file: string): Map<string, TarMember> {
  const fd = fs.openSync(file, 'r');
  const members = new Map<string, TarMember>();
  try {
    const total = fs.fstatSync(fd).size;
    const block = Buffer.alloc(512);
    let pos = 0;
    let longName: string | undefined;
    let pax: Map<string, Buffer> | undefined;
    const readData = (at: number, size: number): Buffer => {
      const data = Buffer.alloc(size);
      fs.readSync(fd, data, 0, size, at);
      return data;
    };
    while (pos + 512 <= total) {
      fs.readSync(fd, block, 0, 512, pos);
      if (block.every((b) => b === 0)) break;
      const type = String.fromCharCode(block[156] || 0x30);
      let size = octalField(block, 124, 12);
      const dataAt = pos + 512;
      const next = dataAt + Math.ceil(size / 512) * 512;
      if (type === 'x') {
        pax = parsePaxRecords(readData(dataAt, size));
      } else if (type === 'L') {
        longName = stringField(readData(dataAt, size), 0, size);
      } else if (type === 'g' || type === 'K') {
        // global headers and long link names do not matter for locating files
      } else {
        let name = stringField(block, 0, 100);
        const magic = block.toString('latin1', 257, 262);
        if (magic === 'ustar' && block[345] !== 0) name = `${stringField(block, 345, 155)}/${name}`;
        if (longName !== undefined) name = longName;
        const paxPath = pax?.get('path');
        if (paxPath) name = paxPath.toString('utf8');
        const paxSize = pax?.get('size');
        if (paxSize) size = Number(paxSize.toString('latin1'));
        if (type === '0' || type === '7') members.set(normalizeName(name), { offset: dataAt, size });
        longName = undefined;
        pax = undefined;
        pos = dataAt + Math.ceil(size / 512) * 512;
        continue;
      }
      pos = next;
    }
  } catch (err) {
    throw new KilnError('INVALID_TARBALL', `${file} is not a readable tar archive`, { cause: err });
  } finally {
    fs.closeSync(fd);
  }
  return members;
}

export function readMember(file: string, member: TarMember): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const data = Buffer.alloc(member.size);
    fs.readSync(fd, data, 0, member.size, member.offset);
    return data;
  } finally {
    fs.closeSync(fd);
  }
}
