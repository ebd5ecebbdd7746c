import { imageSize } from "image-size";
import { IMAGE_LIMITS, SUPPORTED_IMAGE_TYPES, type SupportedImageType } from "../limits.js";
import { UnsupportedMediaTypeError, UnusableImageError } from "../errors.js";
import { isDicom } from "../dicom/dicom-signature.js";
import { readDicomImage, type DicomImage } from "../dicom/read-dicom-image.js";
import { assertDimensionsWithinLimits } from "./assert-dimensions.js";

/**
 * What a DICOM file says about its image that the answer and the logs may repeat: nothing else from its header
 * (names, IDs, dates) ever leaves the preprocessing.
 */
export interface DicomSource {
  modality: string;
  photometricInterpretation: string;
  bitsStored: number;
  transferSyntax: string;
}

/** What an image says about itself before a single pixel is decoded; plain data, so it crosses worker threads. */
export interface ImageHeader {
  type: SupportedImageType;
  width: number;
  height: number;
  /** The EXIF orientation (1 to 8) of a JPEG that has one, as image-size reads it; 1 (as stored) otherwise. */
  orientation: number;
  /** DICOM only. */
  source?: DicomSource;
}

/** A checked upload: its header, and for a DICOM file the parsed image its decoder reads. */
export interface CheckedImage {
  header: ImageHeader;
  dicom?: DicomImage;
}

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, index) => bytes[index] === byte);
}

/** Identifies the format from the file's magic bytes; the client's declared type is not trusted. */
export function sniffImageType(bytes: Uint8Array): SupportedImageType | undefined {
  if (startsWith(bytes, JPEG_MAGIC)) return "image/jpeg";
  if (startsWith(bytes, PNG_MAGIC)) return "image/png";
  if (isDicom(bytes)) return "application/dicom";
  return undefined;
}

/** The formats accepted, for messages: "JPEG, PNG or DICOM". */
const ACCEPTED = Object.values(SUPPORTED_IMAGE_TYPES).join(", ").replace(/, ([^,]*)$/, " or $1");

/**
 * Reads the format and declared dimensions and refuses, before decoding, anything the decoder
 * should not be asked to expand: unknown formats (415), oversized images (413), and images too
 * small or too elongated for the model (422); a DICOM file's own refusals are readDicomImage's.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  return checkImage(bytes).header;
}

/** readImageHeader, keeping for a DICOM file what its header parse found, so the decoder does not parse it again. */
export function checkImage(bytes: Uint8Array): CheckedImage {
  if (bytes.length === 0) {
    throw new UnusableImageError(`The uploaded file is empty; send a ${ACCEPTED} chest X-ray.`);
  }
  const type = sniffImageType(bytes);
  if (type === undefined) {
    throw new UnsupportedMediaTypeError(`The file is not a ${ACCEPTED} image; send a chest X-ray as ${ACCEPTED}.`);
  }
  if (type === "application/dicom") return checkDicom(bytes);
  return { header: readRasterHeader(bytes, type) };
}

function checkDicom(bytes: Uint8Array): CheckedImage {
  const dicom = readDicomImage(bytes);
  const { columns: width, rows: height } = dicom;
  assertPlausibleDensity("application/dicom", bytes.length, width, height);
  const source = { modality: dicom.modality, photometricInterpretation: dicom.photometric, bitsStored: dicom.bitsStored, transferSyntax: dicom.transferSyntax.name };
  return { header: { type: "application/dicom", width, height, orientation: 1, source }, dicom };
}

function readRasterHeader(bytes: Uint8Array, type: Exclude<SupportedImageType, "application/dicom">): ImageHeader {
  let width: number | undefined;
  let height: number | undefined;
  let orientation: number | undefined;
  try {
    ({ width, height, orientation } = imageSize(bytes));
  } catch (error) {
    throw new UnusableImageError(
      `The ${SUPPORTED_IMAGE_TYPES[type]} header cannot be read; the file is corrupt or truncated. Send the original image file.`,
      { cause: error },
    );
  }
  if (!width || !height) {
    throw new UnusableImageError(`The ${SUPPORTED_IMAGE_TYPES[type]} header declares no dimensions; the file is corrupt. Send the original image file.`);
  }
  assertDimensionsWithinLimits(width, height);
  assertPlausibleDensity(type, bytes.length, width, height);
  if (type === "image/jpeg") assertJpegComplete(bytes);
  return { type, width, height, orientation: orientation ?? 1 };
}

/** Refuses large declared images with far too few bytes to hold them: crafted headers, not X-rays. */
function assertPlausibleDensity(type: SupportedImageType, size: number, width: number, height: number): void {
  const pixels = width * height;
  if (pixels <= IMAGE_LIMITS.densityCheckAbovePixels || size >= pixels * IMAGE_LIMITS.minBytesPerPixel[type]) return;
  throw new UnusableImageError(
    `The image declares ${width}x${height} pixels but holds only ${Math.ceil(size / 1024)} KiB, far too little for an X-ray of that size; the file is corrupt or crafted. Send the original image file.`,
  );
}

/** Bytes some cameras and tools append after a JPEG's end-of-image marker. */
const JPEG_TRAILER_ALLOWANCE = 1024;

/**
 * Refuses a JPEG cut short. libjpeg decodes what it has and paints the rest grey, which the model would
 * classify as if it were the X-ray; the end-of-image marker (FF D9, which byte stuffing keeps out of the
 * compressed data) near the end of the file shows nothing is missing.
 */
function assertJpegComplete(bytes: Uint8Array): void {
  const from = Math.max(2, bytes.length - JPEG_TRAILER_ALLOWANCE);
  for (let i = bytes.length - 2; i >= from; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return;
  }
  throw new UnusableImageError("The JPEG is truncated: it has no end-of-image marker. Send the whole file.");
}
