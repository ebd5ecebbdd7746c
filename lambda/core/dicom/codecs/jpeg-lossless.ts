import { Decoder } from "jpeg-lossless-decoder-js";
import { UnusableImageError } from "../../errors.js";
import type { DicomImage } from "../read-dicom-image.js";
import { assertDecodedSize, assertFrameMatches, type StoredWords } from "./frame-check.js";
import { readJpegFrameHeader } from "./jpeg-frame-header.js";

const LOSSLESS_SOF = 0xc3;

/** Decodes a JPEG Lossless (process 14, SV1 or any predictor) frame in JavaScript, after checking its frame header. */
export function decodeJpegLossless(image: DicomImage): StoredWords {
  const frame = readJpegFrameHeader(image.pixelData);
  assertFrameMatches(image, frame?.marker === LOSSLESS_SOF ? frame : undefined, "JPEG Lossless");
  const bytesPerSample = frame!.precision > 8 ? 2 : 1;
  const { buffer, byteOffset, byteLength } = image.pixelData;
  let words: Uint8Array | Uint16Array;
  try {
    words = new Decoder().decode(buffer, byteOffset, byteLength, bytesPerSample);
  } catch (error) {
    throw new UnusableImageError("The DICOM file's JPEG Lossless frame cannot be decoded: it is corrupt or truncated. Send the original file.", { cause: error });
  }
  return assertDecodedSize(image, words, "JPEG Lossless");
}
