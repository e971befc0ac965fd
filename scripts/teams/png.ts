import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from './crc32';

/** A picture as 8-bit, non-premultiplied RGBA samples, row by row from the top left. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  /** `width × height × 4` bytes: red, green, blue, alpha. */
  readonly pixels: Uint8Array;
}

export type PngRead = { ok: true; image: RgbaImage } | { ok: false; problem: string };

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Encodes `image` as an 8-bit RGBA PNG (no filtering, maximum compression): the same bytes every run. */
export function encodePng(image: RgbaImage): Buffer {
  const { width, height, pixels } = image;
  if (pixels.length !== width * height * 4) throw new Error(`encodePng: ${pixels.length} bytes of pixels for a ${width}×${height} RGBA image`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  // compression, filter method and interlace stay 0
  const stride = width * 4;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    // NB: filter type 0 (None) on every row: the icons are small and flat, and decoders must accept it.
    raw[y * (stride + 1)] = 0;
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/**
 * Reads a PNG into RGBA, whatever an editor saved (grey, RGB, palette, with or without alpha or
 * `tRNS`, 1 to 16 bits), so the icon checks see the pixels Teams will see. Interlaced files are
 * refused with the fix, as is anything damaged (every chunk's CRC is checked).
 */
export function decodePng(bytes: Uint8Array): PngRead {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) return fail('is not a PNG file (no PNG signature)');
  let offset = 8;
  let header: { width: number; height: number; depth: number; colourType: number } | undefined;
  let palette: Buffer | undefined;
  let transparency: Buffer | undefined;
  const data: Buffer[] = [];
  let ended = false;
  while (offset < buf.length) {
    if (offset + 12 > buf.length) return fail('is cut short (a chunk header runs past the end of the file)');
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    if (offset + 12 + length > buf.length) return fail(`is cut short (chunk ${type} runs past the end of the file)`);
    const body = buf.subarray(offset + 8, offset + 8 + length);
    if (crc32(buf.subarray(offset + 4, offset + 8 + length)) !== buf.readUInt32BE(offset + 8 + length)) return fail(`is damaged (chunk ${type} fails its CRC check)`);
    offset += 12 + length;
    if (!header && type !== 'IHDR') return fail('is damaged (the first chunk is not IHDR)');
    if (type === 'IHDR') {
      if (length !== 13) return fail('is damaged (IHDR is not 13 bytes)');
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8] as number, colourType: body[9] as number };
      if (!DEPTHS[header.colourType]?.includes(header.depth)) return fail(`has an invalid colour type ${header.colourType} with bit depth ${header.depth}`);
      if (body[10] !== 0 || body[11] !== 0) return fail('uses an unknown compression or filter method');
      if (body[12] !== 0) return fail('is interlaced (Adam7); save it again without interlacing');
      if (header.width === 0 || header.height === 0) return fail('has no pixels (width or height 0)');
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (!header) return fail('has no IHDR chunk');
  if (!ended) return fail('is cut short (no IEND chunk)');
  if (data.length === 0) return fail('has no image data (no IDAT chunk)');
  const { width, height, depth, colourType } = header;
  if (colourType === 3 && (!palette || palette.length % 3 !== 0 || palette.length === 0)) return fail('is a palette image without a valid palette (PLTE)');

  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(data));
  } catch (error) {
    return fail(`has image data that does not inflate (${(error as Error).message})`);
  }
  const channels = CHANNELS[colourType] as number;
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  if (raw.length < height * (stride + 1)) return fail(`has too little image data for ${width}×${height} pixels`);

  const rows: Buffer[] = [];
  let previous = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start] as number;
    const row = Buffer.from(raw.subarray(start + 1, start + 1 + stride));
    if (filter > 4) return fail(`is damaged (row ${y} has unknown filter type ${filter})`);
    unfilter(filter, row, previous, bpp);
    rows.push(row);
    previous = row;
  }

  const max = (1 << depth) - 1;
  const sample = (row: Buffer, index: number): number => {
    if (depth === 8) return row[index] as number;
    if (depth === 16) return row.readUInt16BE(index * 2);
    const bitOffset = index * depth;
    return ((row[bitOffset >> 3] as number) >> (8 - depth - (bitOffset & 7))) & max;
  };
  const to8 = (v: number): number => (depth === 16 ? v >> 8 : depth === 8 ? v : Math.round((v * 255) / max));
  const pixels = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = rows[y] as Buffer;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const s = (c: number) => sample(row, x * channels + c);
      let r: number, g: number, b: number, a: number;
      switch (colourType) {
        case 0: {
          const v = s(0);
          r = g = b = to8(v);
          a = transparency && transparency.length >= 2 && transparency.readUInt16BE(0) === v ? 0 : 255;
          break;
        }
        case 2: {
          const [rv, gv, bv] = [s(0), s(1), s(2)];
          [r, g, b] = [to8(rv), to8(gv), to8(bv)];
          a = transparency && transparency.length >= 6 && transparency.readUInt16BE(0) === rv && transparency.readUInt16BE(2) === gv && transparency.readUInt16BE(4) === bv ? 0 : 255;
          break;
        }
        case 3: {
          const i = s(0);
          if (!palette || i * 3 + 2 >= palette.length) return fail(`is damaged (pixel ${x},${y} uses palette entry ${i}, past the end of the palette)`);
          [r, g, b] = [palette[i * 3] as number, palette[i * 3 + 1] as number, palette[i * 3 + 2] as number];
          a = transparency && i < transparency.length ? (transparency[i] as number) : 255;
          break;
        }
        case 4:
          r = g = b = to8(s(0));
          a = to8(s(1));
          break;
        default:
          [r, g, b, a] = [to8(s(0)), to8(s(1)), to8(s(2)), to8(s(3))];
      }
      pixels[o] = r;
      pixels[o + 1] = g;
      pixels[o + 2] = b;
      pixels[o + 3] = a;
    }
  }
  return { ok: true, image: { width, height, pixels } };
}

function unfilter(filter: number, row: Buffer, previous: Buffer, bpp: number): void {
  for (let i = 0; i < row.length; i++) {
    const left = i >= bpp ? (row[i - bpp] as number) : 0;
    const up = previous[i] as number;
    const upLeft = i >= bpp ? (previous[i - bpp] as number) : 0;
    let add = 0;
    if (filter === 1) add = left;
    else if (filter === 2) add = up;
    else if (filter === 3) add = (left + up) >> 1;
    else if (filter === 4) {
      const p = left + up - upLeft;
      const pa = Math.abs(p - left);
      const pb = Math.abs(p - up);
      const pc = Math.abs(p - upLeft);
      add = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
    }
    row[i] = ((row[i] as number) + add) & 0xff;
  }
}

function fail(problem: string): PngRead {
  return { ok: false, problem };
}
