/** The Emscripten builds of the cornerstone codecs ship no types; these are the parts used here. */

interface CornerstoneFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

/** Emscripten module options: where its output would go (stdout and stderr by default). */
interface EmscriptenOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

interface CornerstoneDecoder {
  /** A view of the decoder's input buffer in WebAssembly memory, `length` bytes long, to copy the codestream into. */
  getEncodedBuffer(length: number): Uint8Array;
  /** A view of the decoded pixels in WebAssembly memory: valid until the decoder is deleted. */
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CornerstoneFrameInfo;
  delete(): void;
}


declare module "@cornerstonejs/codec-openjpeg/decodewasmjs" {
  interface OpenJpegModule {
    readonly HEAPU8: Uint8Array;
    J2KDecoder: new () => CornerstoneDecoder;
  }
  const factory: (options?: EmscriptenOptions) => Promise<OpenJpegModule>;
  export default factory;
}

declare module "@cornerstonejs/codec-charls/decodewasmjs" {
  interface CharLsModule {
    readonly HEAPU8: Uint8Array;
    JpegLSDecoder: new () => CornerstoneDecoder;
  }
  const factory: (options?: EmscriptenOptions) => Promise<CharLsModule>;
  export default factory;
}

declare module "jpeg-lossless-decoder-js" {
  export class Decoder {
    /** Decodes a JPEG Lossless (process 14) codestream to one word of `numBytes` bytes a sample. */
    decode(buffer: ArrayBufferLike, offset: number, length: number, numBytes: number): Uint8Array | Uint16Array;
  }
}
