import { IMAGE_LIMITS } from "../limits.js";
import { ERROR_CODES, PayloadTooLargeError, UnusableImageError } from "../errors.js";

/**
 * Refuses, from the dimensions an image's header declares, one too large to decode (413) or too small or too
 * elongated for the model (422): the same limits for JPEG, PNG and DICOM.
 */
export function assertDimensionsWithinLimits(width: number, height: number): void {
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
