import { UnusableImageError } from "../../errors.js";
import type { DicomImage } from "../read-dicom-image.js";
import type { StoredWords } from "./frame-check.js";

const HEADER_BYTES = 64;

function corrupt(why: string): UnusableImageError {
  return new UnusableImageError(`The DICOM file's RLE frame is corrupt (${why}). Send the original file.`);
}

/** Expands one PackBits segment (PS3.5 G.3.1) into `out`, one byte every `stride` from `start`; never writes past `count` bytes. */
function unpackSegment(source: Uint8Array, out: Uint8Array, start: number, stride: number, count: number): void {
  let read = 0;
  let written = 0;
  while (written < count && read < source.length) {
    const header = source[read++]!;
    if (header < 128) {
      const run = Math.min(header + 1, count - written, source.length - read);
      for (let i = 0; i < run; i++) out[start + stride * written++] = source[read++]!;
    } else if (header > 128) {
      const run = Math.min(257 - header, count - written);
      const value = source[read++]!;
      for (let i = 0; i < run; i++) out[start + stride * written++] = value;
    }
  }
  if (written < count) throw corrupt(`a segment holds ${written} of its ${count} bytes`);
}

/**
 * Decodes an RLE Lossless frame (PS3.5 Annex G): one PackBits segment per byte of the sample, most significant
 * first. Written here, 40 lines, because the format is that small and no maintained package decodes it alone
 * (cornerstone's lives inside its whole image loader). Output never exceeds Rows x Columns words.
 */
export function decodeRle(image: DicomImage): StoredWords {
  const data = image.pixelData;
  if (data.length < HEADER_BYTES) throw corrupt("no segment table");
  const view = new DataView(data.buffer, data.byteOffset, HEADER_BYTES);
  const segments = view.getUint32(0, true);
  const bytesPerSample = image.bitsAllocated / 8;
  if (segments !== bytesPerSample) throw corrupt(`${segments} segments for ${bytesPerSample}-byte samples`);
  const pixels = image.rows * image.columns;
  const bytes = new Uint8Array(pixels * bytesPerSample);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : data.length;
    if (start < HEADER_BYTES || end > data.length || end < start) throw corrupt("a segment offset points outside the frame");
    // Segment s holds byte (bytesPerSample - 1 - s) of each little-endian word.
    unpackSegment(data.subarray(start, end), bytes, bytesPerSample - 1 - s, bytesPerSample, pixels);
  }
  return bytesPerSample === 2 ? new Uint16Array(bytes.buffer) : bytes;
}
