import { imageSize } from "image-size";
import { IMAGE_LIMITS, SUPPORTED_IMAGE_TYPES, type SupportedImageType } from "../limits.js";
import { ERROR_CODES, PayloadTooLargeError, UnsupportedMediaTypeError, UnusableImageError } from "../errors.js";

/** What an image says about itself before a single pixel is decoded. */
export interface ImageHeader {
  type: SupportedImageType;
  width: number;
  height: number;
  /** The EXIF orientation (1 to 8) of a JPEG that has one, as image-size reads it; 1 (as stored) otherwise. */
  orientation: number;
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
  return undefined;
}

/**
 * Reads the format and declared dimensions and refuses, before decoding, anything the decoder
 * should not be asked to expand: unknown formats (415), oversized images (413), and images too
 * small or too elongated for the model (422).
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length === 0) {
    throw new UnusableImageError("The uploaded file is empty; send a JPEG or PNG chest X-ray.");
  }
  const type = sniffImageType(bytes);
  if (type === undefined) {
    const accepted = Object.values(SUPPORTED_IMAGE_TYPES).join(" or ");
    throw new UnsupportedMediaTypeError(`The file is not a ${accepted} image; send a chest X-ray as ${accepted}.`);
  }
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

function assertDimensionsWithinLimits(width: number, height: number): void {
  const { maxPixels, maxSide, minSide, maxAspectRatio } = IMAGE_LIMITS;
  if (width > maxSide || height > maxSide || width * height > maxPixels) {
    throw new PayloadTooLargeError(
      ERROR_CODES.imageTooLarge,
      `The image declares ${width}x${height} pixels; the limit is ${maxSide} pixels a side and ${maxPixels / 1e6} megapixels. Downscale it and retry.`,
    );
  }
  if (Math.min(width, height) < minSide) {
    throw new UnusableImageError(
      `The image is ${width}x${height} pixels; the model needs at least ${minSide} pixels a side. Send the full-resolution X-ray.`,
    );
  }
  if (Math.max(width, height) / Math.min(width, height) > maxAspectRatio) {
    throw new UnusableImageError(
      `The image is ${width}x${height} pixels, more elongated than ${maxAspectRatio}:1; send an uncropped chest X-ray.`,
    );
  }
}
