import openJpegFactory from "@cornerstonejs/codec-openjpeg/decodewasmjs";
import type { DicomImage } from "../read-dicom-image.js";
import { assertFrameMatches, type DeclaredFrame, type StoredWords } from "./frame-check.js";
import { decodeWith, lazyWasmCodec } from "./wasm-codec.js";

/** OpenJPEG prints progress to stdout; the service's logs are structured, and say nothing about an image's content. */
const withOpenJpeg = lazyWasmCodec("JPEG 2000", () => openJpegFactory({ print: () => undefined, printErr: () => undefined }));

/** Start of codestream (FF4F) followed by the image and tile size marker (FF51), PS15444-1 A.5.1. */
const SOC_SIZ = [0xff, 0x4f, 0xff, 0x51];

/**
 * The image size and components the codestream's SIZ segment declares (OpenJPEG tells them only after decoding).
 * Undefined when the frame does not start with a codestream (a JP2 file, or corrupt).
 */
function readSizSegment(bytes: Uint8Array): DeclaredFrame | undefined {
  if (bytes.length < 42 || !SOC_SIZ.every((byte, index) => bytes[index] === byte)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 42);
  return {
    width: view.getUint32(8) - view.getUint32(16),
    height: view.getUint32(12) - view.getUint32(20),
    components: view.getUint16(40),
  };
}

/** Decodes the frame with OpenJPEG (WebAssembly), after checking the codestream's own size against the header. */
export function decodeJpeg2000(image: DicomImage): Promise<StoredWords> {
  assertFrameMatches(image, readSizSegment(image.pixelData), "JPEG 2000");
  return withOpenJpeg((openJpeg) => decodeWith(new openJpeg.J2KDecoder(), image, "JPEG 2000"));
}
