import { readFile } from "node:fs/promises";
import decode, { init } from "@jsquash/jpeg/decode.js";

let ready: Promise<void> | undefined;

/**
 * Instantiates the MozJPEG (libjpeg-turbo based) WebAssembly decoder once, from the file the package ships;
 * the package's own loader would fetch() it, which Node cannot do from a file path.
 */
function initialise(): Promise<void> {
  // printErr: libjpeg writes its warnings to stderr; the failure reaches the client as a 422 instead, and
  // the service's logs stay structured.
  ready ??= readFile(new URL(import.meta.resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm"))).then((wasmBinary) =>
    init({ wasmBinary, printErr: () => undefined }),
  );
  return ready;
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
      await initialise();
      const image = await decode(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer, {
        preserveOrientation: false,
      });
      return { data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
    },
  };
}

/** Starts compiling the decoder now, so the first request does not pay for it. */
export function warmJpegDecoder(): Promise<void> {
  return initialise();
}
