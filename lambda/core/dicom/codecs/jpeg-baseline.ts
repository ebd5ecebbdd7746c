import { UnsupportedMediaTypeError, UnusableImageError } from "../../errors.js";
import { IMAGE_LIMITS } from "../../limits.js";
import { JpegDecodeError, decodeGreyScaled } from "../../model/libjpeg-turbo/scaled-jpeg-decoder.js";
import type { DicomImage } from "../read-dicom-image.js";
import { assertDecodedSize, assertFrameMatches, type StoredWords } from "./frame-check.js";
import { readJpegFrameHeader } from "./jpeg-frame-header.js";

/**
 * Decodes an 8-bit JPEG Baseline or Extended frame at full size with the service's own libjpeg-turbo (the
 * decoder that reads uploaded JPEGs), so this transfer syntax costs no codec of its own; a YCbCr frame is read as
 * its luma, as an uploaded JPEG is. 12-bit frames are refused with 415: that build of libjpeg-turbo reads 8-bit
 * samples only.
 */
export function decodeJpegBaseline(image: DicomImage): StoredWords {
  const frame = readJpegFrameHeader(image.pixelData);
  assertFrameMatches(image, frame, "JPEG");
  if (frame!.precision !== 8) {
    throw new UnsupportedMediaTypeError(
      `The DICOM file's JPEG frame has ${frame!.precision}-bit samples (JPEG Extended, 12-bit), which the service does not read; transcode it to a lossless transfer syntax (dcmtk: dcmdjpeg file.dcm out.dcm) and send that.`,
    );
  }
  try {
    const decoded = decodeGreyScaled(image.pixelData, { minWidth: Infinity, minHeight: Infinity, maxPixels: IMAGE_LIMITS.maxPixels });
    return assertDecodedSize(image, decoded.data, "JPEG");
  } catch (error) {
    if (!(error instanceof JpegDecodeError)) throw error;
    throw new UnusableImageError(`The DICOM file's JPEG frame cannot be decoded: ${error.message} Send the original file.`, { cause: error });
  }
}
