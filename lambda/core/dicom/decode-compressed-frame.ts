import type { DicomImage } from "./read-dicom-image.js";
import type { StoredWords } from "./codecs/frame-check.js";

/**
 * Decodes a JPEG Lossless, JPEG-LS or JPEG 2000 frame with its codec, imported when the first file needing it
 * arrives, so an uncompressed or JPEG upload never loads them. Runs on the codec thread (codec-thread.ts).
 */
export async function decodeCompressedFrame(image: DicomImage): Promise<StoredWords> {
  switch (image.transferSyntax.encoding) {
    case "jpeg-lossless":
      return (await import("./codecs/jpeg-lossless.js")).decodeJpegLossless(image);
    case "jpeg-ls":
      return (await import("./codecs/jpeg-ls.js")).decodeJpegLs(image);
    case "jpeg-2000":
      return (await import("./codecs/jpeg-2000.js")).decodeJpeg2000(image);
    default:
      throw new Error(`${image.transferSyntax.name} is not decoded on the codec thread`);
  }
}
