import charLsFactory from "@cornerstonejs/codec-charls/decodewasmjs";
import type { DicomImage } from "../read-dicom-image.js";
import { assertFrameMatches, type StoredWords } from "./frame-check.js";
import { readJpegFrameHeader } from "./jpeg-frame-header.js";
import { decodeWith, lazyWasmCodec } from "./wasm-codec.js";

const withCharLs = lazyWasmCodec("JPEG-LS", () => charLsFactory({ print: () => undefined, printErr: () => undefined }));

/** Decodes the frame with CharLS (WebAssembly), after checking its frame header (SOF55) against the DICOM header. */
export function decodeJpegLs(image: DicomImage): Promise<StoredWords> {
  const frame = readJpegFrameHeader(image.pixelData);
  assertFrameMatches(image, frame?.marker === 0xf7 ? frame : undefined, "JPEG-LS");
  return withCharLs((charLs) => decodeWith(new charLs.JpegLSDecoder(), image, "JPEG-LS"));
}
