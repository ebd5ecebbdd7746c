import { UnusableImageError } from "../../errors.js";
import type { DicomImage } from "../read-dicom-image.js";
import { assertDecodedSize, wordsFromBytes, type StoredWords } from "./frame-check.js";

/** What every cornerstone codec module exposes: its memory, to watch its growth. */
interface CodecModule {
  readonly HEAPU8: Uint8Array;
}

/**
 * WebAssembly memory never shrinks: once a large image has grown a codec's instance past this, the instance is
 * dropped after its decode and the next decode instantiates a fresh one, so the process does not hold that
 * memory for good.
 */
const RECYCLE_ABOVE_BYTES = 64 * 1024 * 1024;

/**
 * One Emscripten codec module, instantiated on the first file that needs it (its .wasm read and compiled then,
 * never at start-up) and kept for the next. A decode that throws drops the instance, whose C++ state may be
 * broken, and answers 422 for that file; the next decode gets a fresh instance.
 */
export function lazyWasmCodec<Module extends CodecModule>(codec: string, load: () => Promise<Module>) {
  let instance: Promise<Module> | undefined;
  return async function withCodec<T>(use: (module: Module) => T): Promise<T> {
    const loading = (instance ??= load());
    const module = await loading.catch((error: unknown) => {
      instance = undefined;
      throw error;
    });
    try {
      return use(module);
    } catch (error) {
      instance = undefined;
      if (error instanceof UnusableImageError) throw error;
      throw new UnusableImageError(`The DICOM file's ${codec} frame cannot be decoded: it is corrupt or truncated. Send the original file.`, { cause: error });
    } finally {
      if (module.HEAPU8.length > RECYCLE_ABOVE_BYTES && instance === loading) instance = undefined;
    }
  };
}

/** Runs one cornerstone decoder on the frame: copies the frame in, decodes, copies the pixels out, frees the decoder. */
export function decodeWith(decoder: CornerstoneDecoder, image: DicomImage, codec: string): StoredWords {
  try {
    decoder.getEncodedBuffer(image.pixelData.length).set(image.pixelData);
    decoder.decode();
    const info = decoder.getFrameInfo();
    return assertDecodedSize(image, wordsFromBytes(decoder.getDecodedBuffer(), info.bitsPerSample), codec);
  } finally {
    decoder.delete();
  }
}
