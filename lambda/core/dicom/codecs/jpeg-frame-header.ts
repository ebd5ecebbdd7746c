/** What a JPEG-family codestream's frame header (SOFn, or JPEG-LS's SOF55) declares. */
export interface JpegFrameHeader {
  /** The start-of-frame marker's second byte: 0xC0 baseline, 0xC1 extended, 0xC3 lossless, 0xF7 JPEG-LS. */
  marker: number;
  precision: number;
  height: number;
  width: number;
  components: number;
}

/** Markers that stand alone, without a length: TEM, RSTn, SOI. */
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);
/** 0xC4 (DHT), 0xC8 (JPG) and 0xCC (DAC) share the SOF range but are not frame headers. */
const isStartOfFrame = (marker: number) => (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) || marker === 0xf7;

/**
 * Walks the segments before the first scan to the frame header, so a codestream's own size can be checked
 * against the DICOM header before any decoder allocates for it. Undefined when there is none (corrupt).
 */
export function readJpegFrameHeader(bytes: Uint8Array): JpegFrameHeader | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) return undefined;
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (STANDALONE.has(marker)) {
      offset += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // a scan or the end before any frame header
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
    if (isStartOfFrame(marker)) {
      if (offset + 10 > bytes.length) return undefined;
      return {
        marker,
        precision: bytes[offset + 4]!,
        height: (bytes[offset + 5]! << 8) | bytes[offset + 6]!,
        width: (bytes[offset + 7]! << 8) | bytes[offset + 8]!,
        components: bytes[offset + 9]!,
      };
    }
    if (length < 2) return undefined;
    offset += 2 + length;
  }
  return undefined;
}
