import { concat } from "./mutator.js";

/** One chunk of a PNG: where it starts, the length its header declares and its four-letter type. */
export interface PngChunk {
  offset: number;
  length: number;
  type: string;
}

/** The chunks of a PNG as their headers declare them, up to the first length that runs past the end. */
export function pngChunks(b: Uint8Array): PngChunk[] {
  const chunks: PngChunk[] = [];
  if (b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return chunks;
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let i = 8;
  while (i + 12 <= b.length && chunks.length < 256) {
    const length = view.readUInt32BE(i);
    chunks.push({ offset: i, length, type: view.toString("latin1", i + 4, i + 8) });
    if (length > b.length) break;
    i += 12 + length;
  }
  return chunks;
}

/** Recomputes a chunk's CRC, so a change reaches the decoder instead of stopping at the checksum. */
export function fixCrc(b: Buffer, chunk: PngChunk): void {
  const end = chunk.offset + 8 + chunk.length;
  if (end + 4 > b.length) return;
  b.writeUInt32BE(crc32(b.subarray(chunk.offset + 4, end)), end);
}

/** A whole chunk (length, type, data, CRC) with a correct CRC, so the decoder reads its data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(concat(head.subarray(4), data)), 0);
  return concat(head, data, crc);
}

/** The CRC-32 (ISO 3309) that every PNG chunk ends with, over its type and data. */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
