import { createJimp } from "@jimp/core";
import jpeg from "@jimp/js-jpeg";
import png from "@jimp/js-png";
import { methods as resizeMethods } from "@jimp/plugin-resize";
import { IMAGE_LIMITS } from "./limits.js";
import { UnusableImageError } from "./errors.js";
import { readImageHeader, type ImageHeader } from "./image-header.js";
import { greyToTensor, rgbaToGrey } from "./grey-tensor.js";
import type { PreprocessingSpec } from "./preprocessing-spec.js";

/** Jimp with only the formats we accept, so nothing else is ever handed to a decoder. */
const Jimp = createJimp({ formats: [jpeg, png], plugins: [resizeMethods] });

const BYTES_PER_RGBA_PIXEL = 4;

/** jpeg-js's own guard rails, set from our limits in case a header under-declares the image. */
const JPEG_DECODER_OPTIONS = {
  maxResolutionInMP: IMAGE_LIMITS.maxPixels / 1e6,
  maxMemoryUsageInMB: Math.ceil((IMAGE_LIMITS.maxPixels * BYTES_PER_RGBA_PIXEL * 2) / 2 ** 20),
};

/** The model input for one image, with what was learnt about the image on the way. */
export interface PreprocessedImage {
  header: ImageHeader;
  /** Values in NCHW order for a batch of one: 1 x 1 x height x width. */
  tensor: Float32Array;
}

/**
 * The one preprocessing implementation, used by serving and by the training export: checks the
 * header, decodes (applying EXIF orientation), scales to the model input, converts to grey,
 * equalises and normalises as the spec says.
 */
export async function preprocessImage(bytes: Uint8Array, spec: PreprocessingSpec): Promise<PreprocessedImage> {
  const header = readImageHeader(bytes);
  const image = await decode(bytes, header);
  image.resize({ w: spec.width, h: spec.height });
  const grey = rgbaToGrey(image.bitmap.data, spec.width * spec.height);
  return { header, tensor: greyToTensor(grey, spec) };
}

async function decode(bytes: Uint8Array, header: ImageHeader) {
  try {
    return await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      "image/jpeg": JPEG_DECODER_OPTIONS,
    });
  } catch (error) {
    throw new UnusableImageError(
      `The ${header.type === "image/png" ? "PNG" : "JPEG"} could not be decoded; the file is corrupt or truncated.`,
      { cause: error },
    );
  }
}
