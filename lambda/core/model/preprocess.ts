import { createJimp } from "@jimp/core";
import png from "@jimp/js-png";
import mozjpeg from "./mozjpeg-format.js";
import { UnusableImageError } from "../errors.js";
import { readImageHeader, type ImageHeader } from "./image-header.js";
import { downscaleToGrey } from "./area-downscale.js";
import { greyToTensor } from "./grey-tensor.js";
import type { PreprocessingSpec } from "./preprocessing-spec.js";

/** Jimp with only the formats we accept, so nothing else is ever handed to a decoder. */
const Jimp = createJimp({ formats: [mozjpeg, png] });

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
  const { bitmap } = await decodeImage(bytes, header);
  const grey = downscaleToGrey(bitmap.data, bitmap.width, bitmap.height, spec.width, spec.height);
  return { header, tensor: greyToTensor(grey, spec) };
}

/** Decodes a checked image with jimp (MozJPEG for JPEG), EXIF orientation applied; 422 when it cannot. */
export async function decodeImage(bytes: Uint8Array, header: ImageHeader) {
  try {
    return await Jimp.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new UnusableImageError(
      `The ${header.type === "image/png" ? "PNG" : "JPEG"} could not be decoded; the file is corrupt or truncated. Send the original image file.`,
      { cause: error },
    );
  }
}
