import { createJimp } from "@jimp/core";
import png from "@jimp/js-png";
import scaledJpeg, { jpegDecodeSize } from "./scaled-jpeg-format.js";
import { decodeGreyScaled, JpegDecodeError } from "./libjpeg-turbo/scaled-jpeg-decoder.js";
import { UnusableImageError } from "../errors.js";
import { IMAGE_LIMITS } from "../limits.js";
import { readImageHeader, type ImageHeader } from "./image-header.js";
import { downscaleGrey, downscaleToGrey } from "./area-downscale.js";
import { greyToTensor } from "./grey-tensor.js";
import type { PreprocessingSpec } from "./preprocessing-spec.js";
import { WARM_UP_JPEG } from "./warm-up-jpeg.js";

/** Jimp with only the formats we accept, so nothing else is ever handed to a decoder. */
const Jimp = createJimp({ formats: [scaledJpeg, png] });

/** The model input for one image, with what was learnt about the image on the way. */
export interface PreprocessedImage {
  header: ImageHeader;
  /** Values in NCHW order for a batch of one: 1 x 1 x height x width. */
  tensor: Float32Array;
}

/**
 * The one preprocessing implementation, used by serving and by the training export: checks the
 * header, decodes (applying EXIF orientation), scales to the model input in grey, equalises and
 * normalises as the spec says.
 */
export async function preprocessImage(bytes: Uint8Array, spec: PreprocessingSpec): Promise<PreprocessedImage> {
  const header = readImageHeader(bytes);
  return { header, tensor: greyToTensor(await greyModelInput(bytes, header, spec), spec) };
}

/**
 * The image as the model's grey input size. An upright JPEG (no EXIF rotation: nearly every X-ray) goes from
 * the scaled decoder straight to the area downscale, one grey byte a pixel, sparing the RGBA bitmap jimp
 * would build from it and read back (about a tenth of preprocessing); jimp decodes the rest, so that it
 * applies the orientation, with the same decoder.
 */
async function greyModelInput(bytes: Uint8Array, header: ImageHeader, spec: PreprocessingSpec): Promise<Float32Array> {
  if (header.type === "image/jpeg" && header.orientation === 1) {
    const image = await withUnusableMessage(header, () => decodeGreyScaled(bytes, { ...jpegDecodeSize(spec), maxPixels: IMAGE_LIMITS.maxPixels }));
    return downscaleGrey(image.data, image.width, image.height, spec.width, spec.height);
  }
  const { bitmap } = await decodeImage(bytes, header, spec);
  return downscaleToGrey(bitmap.data, bitmap.width, bitmap.height, spec.width, spec.height);
}

/**
 * Decodes a checked image with jimp, EXIF orientation applied: a JPEG at the largest libjpeg reduction that
 * leaves both sides at least twice the model input (so 224-pixel images at full size), a PNG at full size.
 * 422 when it cannot, with libjpeg's reason for a JPEG.
 */
export async function decodeImage(bytes: Uint8Array, header: ImageHeader, spec: PreprocessingSpec) {
  return withUnusableMessage(header, () =>
    Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { "image/jpeg": jpegDecodeSize(spec) }),
  );
}

/** What `decode` answers, or a 422 saying why the image could not be decoded. */
async function withUnusableMessage<T>(header: ImageHeader, decode: () => T | Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (error) {
    throw new UnusableImageError(unusableMessage(header, error), { cause: error });
  }
}

function unusableMessage(header: ImageHeader, error: unknown): string {
  if (error instanceof JpegDecodeError) {
    return `${error.message} It is damaged or truncated, or of a kind the service does not read (12-bit, CMYK): send the original X-ray as an 8-bit JPEG or a PNG.`;
  }
  return `The ${header.type === "image/png" ? "PNG" : "JPEG"} could not be decoded; the file is corrupt or truncated. Send the original image file.`;
}

/**
 * Runs the whole preprocessing once on a small JPEG, so that the first request pays neither for the decoder's
 * WebAssembly compilation nor for the first run of every step (jimp's lazily loaded file-type detection, V8
 * compiling each function): call it at start-up, on every thread that preprocesses.
 */
export async function warmUpPreprocessing(spec: PreprocessingSpec): Promise<void> {
  await preprocessImage(WARM_UP_JPEG, spec);
}
