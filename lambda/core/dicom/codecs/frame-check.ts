import { UnusableImageError } from "../../errors.js";
import type { DicomImage } from "../read-dicom-image.js";

/** Decoded stored values, one word a pixel, row after row: bytes for 8 bits allocated, 16-bit words otherwise. */
export type StoredWords = Uint8Array | Uint16Array;

/** The size and components a compressed frame declares for itself. */
export interface DeclaredFrame {
  width: number;
  height: number;
  components: number;
}

/**
 * Refuses a compressed frame whose own header disagrees with the DICOM header, before it is decoded: a
 * codestream declaring more pixels than the checked Rows x Columns is a decompression bomb.
 */
export function assertFrameMatches(image: DicomImage, frame: DeclaredFrame | undefined, codec: string): void {
  if (frame && frame.width === image.columns && frame.height === image.rows && frame.components === image.samplesPerPixel) return;
  const declared = frame ? `${frame.width}x${frame.height} pixels of ${frame.components} component(s)` : "no readable frame header";
  throw new UnusableImageError(
    `The DICOM file's ${codec} frame declares ${declared}, where its header declares ${image.columns}x${image.rows} pixels of ${image.samplesPerPixel} component(s); the file is corrupt. Send the original file.`,
  );
}

/** Refuses decoded pixels that do not fill Rows x Columns (a decoder that stopped early). */
export function assertDecodedSize(image: DicomImage, words: StoredWords, codec: string): StoredWords {
  const pixels = image.rows * image.columns;
  if (words.length >= pixels) return words.length === pixels ? words : words.subarray(0, pixels);
  throw new UnusableImageError(`The DICOM file's ${codec} frame decoded to ${words.length} pixels of the ${pixels} its header declares; the file is corrupt. Send the original file.`);
}

/** Little-endian bytes from a decoder as words: 16-bit when the codec stored more than 8 bits a sample. */
export function wordsFromBytes(bytes: Uint8Array, bitsPerSample: number): StoredWords {
  const copy = new Uint8Array(bytes);
  return bitsPerSample > 8 ? new Uint16Array(copy.buffer, 0, copy.length >> 1) : copy;
}
