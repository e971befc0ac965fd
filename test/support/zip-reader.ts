import { crc32, inflateRawSync } from 'node:zlib';

export interface ZipFileEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly data: Buffer;
}

/**
 * Reads a ZIP archive the way an unzip tool does, from the end record through the central
 * directory to each local header, and checks what a careful reader would: signatures, that the
 * local and central headers agree, sizes, and each entry's CRC-32 (node:zlib's, not the writer's).
 * Written apart from scripts/teams/zip-writer.ts so that the two cannot share a mistake.
 */
export function readZip(zip: Buffer): ZipFileEntry[] {
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  const directorySize = zip.readUInt32LE(end + 12);
  const directoryOffset = zip.readUInt32LE(end + 16);
  if (zip.readUInt16LE(end + 8) !== count) throw new Error('entry counts disagree (multi-disk archive?)');
  if (directoryOffset + directorySize !== end) throw new Error(`central directory at ${directoryOffset}+${directorySize} does not end where the end record starts (${end})`);

  const entries: ZipFileEntry[] = [];
  let at = directoryOffset;
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`central header ${n} has a bad signature`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString(flags & 0x0800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`${name}: local header has a bad signature`);
    if (zip.readUInt16LE(localOffset + 6) & 0x0008) throw new Error(`${name}: uses a data descriptor (not expected here)`);
    const local = { method: zip.readUInt16LE(localOffset + 8), crc: zip.readUInt32LE(localOffset + 14), compressedSize: zip.readUInt32LE(localOffset + 18), size: zip.readUInt32LE(localOffset + 22) };
    if (local.method !== method || local.crc !== crc || local.compressedSize !== compressedSize || local.size !== size) throw new Error(`${name}: local and central headers disagree`);
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    if (zip.toString(flags & 0x0800 ? 'utf8' : 'latin1', localOffset + 30, localOffset + 30 + localNameLength) !== name) throw new Error(`${name}: local header names another file`);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const body = zip.subarray(start, start + compressedSize);
    if (body.length !== compressedSize) throw new Error(`${name}: runs past the end of the archive`);
    let data: Buffer;
    if (method === 8) data = inflateRawSync(body);
    else if (method === 0) data = Buffer.from(body);
    else throw new Error(`${name}: compression method ${method} is not deflate or stored`);
    if (data.length !== size) throw new Error(`${name}: ${data.length} bytes, the header says ${size}`);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC-32 mismatch`);
    entries.push({ name, method, data });
  }
  return entries;
}
