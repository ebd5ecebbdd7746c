import type { DicomImage } from "./read-dicom-image.js";
import type { StoredWords } from "./codecs/frame-check.js";

/** Native pixel data as words: a copy, byte-swapped for Explicit VR Big Endian. */
function nativeWords(image: DicomImage): StoredWords {
  if (image.bitsAllocated === 8) return image.pixelData;
  const words = new Uint16Array(new Uint8Array(image.pixelData).buffer);
  if (image.transferSyntax.bigEndian) for (let i = 0; i < words.length; i++) words[i] = ((words[i]! >> 8) | (words[i]! << 8)) & 0xffff;
  return words;
}

/**
 * The stored values of the one frame, decoded by its transfer syntax's codec. Each codec is imported when the
 * first file needing it arrives, so an uncompressed or JPEG upload never loads the others.
 */
export async function decodeFrame(image: DicomImage): Promise<StoredWords> {
  switch (image.transferSyntax.encoding) {
    case "native":
      return nativeWords(image);
    case "jpeg":
      return (await import("./codecs/jpeg-baseline.js")).decodeJpegBaseline(image);
    case "jpeg-lossless":
      return (await import("./codecs/jpeg-lossless.js")).decodeJpegLossless(image);
    case "jpeg-ls":
      return (await import("./codecs/jpeg-ls.js")).decodeJpegLs(image);
    case "jpeg-2000":
      return (await import("./codecs/jpeg-2000.js")).decodeJpeg2000(image);
    case "rle":
      return (await import("./codecs/rle.js")).decodeRle(image);
  }
}
