import { IMAGE_LIMITS } from "../limits.js";
import { decodeGreyScaled } from "./libjpeg-turbo/scaled-jpeg-decoder.js";
import type { PreprocessingSpec } from "./preprocessing-spec.js";

/** The size a JPEG is decoded at: at least this many pixels a side, at the largest libjpeg reduction that allows. */
export interface ScaledJpegDecodeOptions {
  minWidth: number;
  minHeight: number;
}

/**
 * What the preprocessing spec needs from a JPEG: both sides at least twice the model input, so the area
 * downscale after the decode still averages 2x2 pixels or more into each input pixel. The larger of the
 * input's two sides for both, because jimp applies EXIF orientation after decoding and may swap them.
 */
export function jpegDecodeSize(spec: Pick<PreprocessingSpec, "width" | "height">): ScaledJpegDecodeOptions {
  const side = 2 * Math.max(spec.width, spec.height);
  return { minWidth: side, minHeight: side };
}

/** Each grey level as an opaque RGBA pixel (R = G = B = level, A = 255), one 32-bit word, written little-endian. */
const OPAQUE_GREY = Uint32Array.from({ length: 256 }, (_, level) => (0xff000000 | (level * 0x010101)) >>> 0);

/**
 * One grey byte a pixel to the RGBA layout of jimp's bitmaps, a word a pixel from a table (faster than
 * computing it). Little-endian, as every platform the service is built for (x86_64).
 */
function greyToRgba(grey: Uint8Array): Buffer {
  // Every word is written below, so it need not be zeroed; never from Buffer's pool, so its offset is 0.
  const rgba = Buffer.allocUnsafeSlow(grey.length * 4);
  const words = new Uint32Array(rgba.buffer, rgba.byteOffset, grey.length);
  for (let i = 0; i < grey.length; i++) words[i] = OPAQUE_GREY[grey[i]!]!;
  return rgba;
}

/**
 * A jimp format that decodes JPEG with libjpeg-turbo (WebAssembly, ./libjpeg-turbo/) straight to grey at a
 * reduced scale: the largest of 1/2, 1/4 and 1/8 that keeps the image at least the size given in the decode
 * options (`Jimp.fromBuffer(bytes, { "image/jpeg": jpegDecodeSize(spec) })`; without them, full size), so the
 * full-size image of a large X-ray is never built. Grey is the JPEG's Y channel (BT.601 luma for colour).
 * JPEGs whose pixel data libjpeg warns about (a truncated or damaged scan that it would paint over) are
 * refused with a JpegDecodeError, as are the kinds it cannot decode; EXIF orientation is left to jimp,
 * which applies it after any decoder.
 */
export default function scaledJpegFormat() {
  return {
    mime: "image/jpeg" as const,
    encode: (): never => {
      throw new Error("The service reads JPEGs; it never writes them.");
    },
    decode: (data: Buffer, options?: ScaledJpegDecodeOptions) => {
      const { minWidth, minHeight } = options ?? { minWidth: Infinity, minHeight: Infinity };
      const image = decodeGreyScaled(data, { minWidth, minHeight, maxPixels: IMAGE_LIMITS.maxPixels });
      return { data: greyToRgba(image.data), width: image.width, height: image.height };
    },
  };
}
