import { concat } from "./mutator.js";

/** One marker segment of a JPEG, where it starts and the length its header declares. */
export interface JpegSegment {
  marker: number;
  /** Offset of the 0xFF of the marker. */
  offset: number;
  length: number;
}

/** The marker segments of a JPEG up to and including the first SOS (after that comes entropy-coded data). */
export function jpegSegments(b: Uint8Array): JpegSegment[] {
  const segments: JpegSegment[] = [];
  let i = 2;
  while (i + 4 <= b.length && segments.length < 64) {
    if (b[i] !== 0xff) break;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) break;
    const length = (b[i + 2]! << 8) | b[i + 3]!;
    segments.push({ marker, offset: i, length });
    if (marker === 0xda) break;
    i += 2 + length;
  }
  return segments;
}

/** Whether a marker starts a frame (SOF0-SOF15); C4, C8 and CC share the range but are DHT, JPG and DAC. */
export const isSof = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

/** An APP1 Exif segment carrying only an orientation tag, as cameras write it. */
export function exifOrientationSegment(orientation: number): Uint8Array {
  const tiff = Buffer.alloc(26);
  tiff.write("MM\x00\x2a", 0, "latin1");
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22);
  const body = concat(Buffer.from("Exif\x00\x00", "latin1"), tiff);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xffe1, 0);
  head.writeUInt16BE(body.length + 2, 2);
  return concat(head, body);
}

/** A baseline one-component SOF0 declaring the given size, to insert as a second frame header. */
export function sofSegment([width, height]: readonly [number, number]): Uint8Array {
  const b = Buffer.alloc(13);
  b.writeUInt16BE(0xffc0, 0);
  b.writeUInt16BE(11, 2);
  b[4] = 8;
  b.writeUInt16BE(height, 5);
  b.writeUInt16BE(width, 7);
  b[9] = 1;
  b[10] = 1;
  b[11] = 0x11;
  b[12] = 0;
  return b;
}
