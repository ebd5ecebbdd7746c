import type { DicomImage } from "./read-dicom-image.js";
import type { StoredWords } from "./codecs/frame-check.js";
import { decodeJpegBaseline } from "./codecs/jpeg-baseline.js";
import { decodeRle } from "./codecs/rle.js";
import { decodeOnCodecThread } from "./codec-thread.js";

/** Native pixel data as words: a copy, byte-swapped for Explicit VR Big Endian. */
function nativeWords(image: DicomImage): StoredWords {
  if (image.bitsAllocated === 8) return image.pixelData;
  const words = new Uint16Array(new Uint8Array(image.pixelData).buffer);
  if (image.transferSyntax.bigEndian) for (let i = 0; i < words.length; i++) words[i] = ((words[i]! >> 8) | (words[i]! << 8)) & 0xffff;
  return words;
}

/**
 * The stored values of the one frame: native data and RLE here, a JPEG frame with the service's own libjpeg-turbo,
 * and JPEG Lossless, JPEG-LS and JPEG 2000 on the codec thread, within a time budget.
 */
export async function decodeFrame(image: DicomImage): Promise<StoredWords> {
  switch (image.transferSyntax.encoding) {
    case "native":
      return nativeWords(image);
    case "jpeg":
      return decodeJpegBaseline(image);
    case "rle":
      return decodeRle(image);
    case "jpeg-lossless":
    case "jpeg-ls":
    case "jpeg-2000":
      return decodeOnCodecThread(image);
  }
}
