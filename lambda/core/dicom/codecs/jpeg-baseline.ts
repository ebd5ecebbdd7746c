import { UnusableImageError } from "../../errors.js";
import { IMAGE_LIMITS } from "../../limits.js";
import { JpegDecodeError, decodeGrey12, decodeGreyScaled } from "../../model/libjpeg-turbo/scaled-jpeg-decoder.js";
import type { DicomImage } from "../read-dicom-image.js";
import { assertDecodedSize, assertFrameMatches, type StoredWords } from "./frame-check.js";
import { readJpegFrameHeader } from "./jpeg-frame-header.js";

/**
 * Decodes a JPEG Baseline or Extended frame at full size with the service's own libjpeg-turbo: an 8-bit frame with
 * the build that reads uploaded JPEGs (a YCbCr frame is read as its luma, as an uploaded JPEG is), a 12-bit one
 * (16 bits allocated) with the 12-bit build of the same source, to 16-bit words as native pixel data would be.
 */
export function decodeJpegBaseline(image: DicomImage): StoredWords {
  const frame = readJpegFrameHeader(image.pixelData);
  assertFrameMatches(image, frame, "JPEG");
  const precision = frame!.precision;
  // 12-bit samples need 16 bits allocated; 8-bit ones are read whatever the header allocates, as before.
  if ((precision !== 8 && precision !== 12) || (precision === 12 && image.bitsAllocated !== 16)) {
    throw new UnusableImageError(
      `The DICOM file's JPEG frame has ${precision}-bit samples where its header declares ${image.bitsAllocated} bits allocated; JPEG Baseline and Extended hold 8-bit samples, or 12-bit ones in 16 bits allocated. The file is corrupt. Send the original file.`,
    );
  }
  try {
    const options = { maxPixels: IMAGE_LIMITS.maxPixels };
    const decoded = precision === 12 ? decodeGrey12(image.pixelData, options) : decodeGreyScaled(image.pixelData, { ...options, minWidth: Infinity, minHeight: Infinity });
    return assertDecodedSize(image, decoded.data, "JPEG");
  } catch (error) {
    if (!(error instanceof JpegDecodeError)) throw error;
    throw new UnusableImageError(`The DICOM file's JPEG frame cannot be decoded: ${error.message} Send the original file.`, { cause: error });
  }
}
