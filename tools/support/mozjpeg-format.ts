/**
 * The JPEG decoder the service used before lambda/core/model/scaled-jpeg-format.ts: MozJPEG (@jsquash/jpeg, a dev
 * dependency now) decoding at full size to RGBA. Kept for the tools that measure the new decoder against it
 * (bench-jpeg-decoders.ts, compare-jpeg-decoding.ts).
 */
import { readFile } from "node:fs/promises";
import decode, { init } from "@jsquash/jpeg/decode.js";

let wasmBinary: Promise<Buffer> | undefined;
let instance: Promise<void> | undefined;

/**
 * Starts a new instance of the MozJPEG (libjpeg-turbo based) WebAssembly decoder, from the file the package
 * ships (the package's own loader would fetch() it, which Node cannot do from a file path).
 * printErr: libjpeg writes its warnings to stderr; failures reach the client as 422 and logs stay structured.
 */
function startFreshDecoder(): Promise<void> {
  wasmBinary ??= readFile(new URL(import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm")));
  instance = wasmBinary.then((binary) => init({ wasmBinary: binary, printErr: () => undefined }));
  return instance;
}

async function decodeOnce(data: Buffer) {
  await (instance ?? startFreshDecoder());
  return decode(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, { preserveOrientation: false });
}

/**
 * Decodes on the current instance. libjpeg's fatal errors end the WebAssembly program (exit(1)), which leaves
 * that instance broken for every later image (found by `npm run fuzz`): after any failure the instance is
 * replaced, and the image is tried once more on the fresh one, so a request that met an instance broken by
 * another request still gets its answer. A second failure is the image's own.
 */
async function decodeWithFreshInstanceOnFailure(data: Buffer) {
  try {
    return await decodeOnce(data);
  } catch {
    await startFreshDecoder();
    try {
      return await decodeOnce(data);
    } catch (error) {
      void startFreshDecoder();
      throw error;
    }
  }
}

/**
 * A jimp format that decodes JPEG with MozJPEG compiled to WebAssembly, several times faster than jimp's
 * pure-JavaScript jpeg-js. EXIF orientation is left to jimp, which applies it after any decoder.
 */
export default function mozjpegFormat() {
  return {
    mime: "image/jpeg" as const,
    encode: () => {
      throw new Error("The service reads JPEGs; it never writes them.");
    },
    decode: async (data: Buffer) => {
      const image = await decodeWithFreshInstanceOnFailure(data);
      return { data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
    },
  };
}

/** Starts the decoder now, so the first decode does not pay for it. */
export function warmMozjpegDecoder(): Promise<void> {
  return instance ?? startFreshDecoder();
}
