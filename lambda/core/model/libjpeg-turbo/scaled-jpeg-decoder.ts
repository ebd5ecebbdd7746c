import { readFileSync } from "node:fs";

/**
 * Grey JPEG decoding at a reduced scale ("shrink-on-load"), with libjpeg-turbo 2.1.5 compiled to WebAssembly by
 * tools/wasm/libjpeg-turbo/build.sh. libjpeg scales by 1/2, 1/4 or 1/8 inside the inverse DCT, so a
 * 2000-pixel X-ray wanted at 256 pixels or more is decoded straight to 500 pixels, and the chroma of a colour
 * JPEG is never decoded at all (grey is its Y channel: BT.601 luma).
 *
 * One WebAssembly instance per thread (module state is per thread, so each worker thread builds its own);
 * compiled and instantiated synchronously on first use or by {@link warmScaledJpegDecoder}. Every call is
 * synchronous. A second build of the same source with 12-bit samples (libjpeg-turbo 2.1 builds one precision or
 * the other) decodes DICOM's 12-bit JPEG Extended frames, {@link decodeGrey12}; it is compiled only when the first
 * such frame arrives. A corrupt JPEG is a {@link JpegDecodeError} and leaves the instance usable: libjpeg's fatal
 * errors longjmp back to the exported C function, which cleans up and returns a failure.
 */

/** A reduction libjpeg applies while decoding: the output is 1/scale of each side, rounded up. */
export type JpegScale = 1 | 2 | 4 | 8;

/** What a JPEG's header says, read without decoding a pixel. */
export interface JpegHeader {
  width: number;
  height: number;
  /** 1 for grey, 3 for YCbCr (or RGB), 4 for CMYK/YCCK. */
  components: number;
  progressive: boolean;
}

/** A decoded grey image: one byte a pixel, row after row, no padding. */
export interface ScaledGreyImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** The reduction the image was decoded at: width is ceil(header width / scale). */
  scale: JpegScale;
}

export interface ScaledDecodeOptions {
  /** The decoded image is at least this wide, unless the JPEG itself is narrower (then it is decoded at 1/1). */
  minWidth: number;
  /** The decoded image is at least this tall, unless the JPEG itself is shorter. */
  minHeight: number;
  /**
   * Largest declared width x height decoded; larger JPEGs are refused from their header, before any buffer is
   * allocated. Default {@link DEFAULT_MAX_PIXELS}.
   */
  maxPixels?: number;
  /**
   * Refuse JPEGs on which libjpeg warns about the pixel data (truncated scan, bad Huffman code, ...), which it
   * would otherwise paint over in grey and return as if whole; sharp's default (failOn "warning") does the
   * same. Warnings about metadata only (JFIF revision, ICC profile) never fail. Default true.
   */
  failOnWarning?: boolean;
}

/** The service's limit (IMAGE_LIMITS.maxPixels in lambda/core/limits.ts), also the decoder's default. */
export const DEFAULT_MAX_PIXELS = 25_000_000;

/** A JPEG that cannot be decoded: corrupt, truncated, of an unsupported kind, or too large. */
export class JpegDecodeError extends Error {
  override name = "JpegDecodeError";
  /** libjpeg's message code (J_MESSAGE_CODE in jerror.h) when libjpeg refused it. */
  readonly libjpegCode: number | undefined;

  constructor(message: string, libjpegCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.libjpegCode = libjpegCode;
  }
}

const SCALES: readonly JpegScale[] = [8, 4, 2, 1];

/**
 * The largest reduction N in 1, 2, 4, 8 whose output, ceil(width / N) x ceil(height / N) as libjpeg rounds it,
 * is still at least minWidth x minHeight; 1 when even the full size is not.
 */
export function scaleFor(width: number, height: number, minWidth: number, minHeight: number): JpegScale {
  for (const scale of SCALES) {
    if (Math.ceil(width / scale) >= minWidth && Math.ceil(height / scale) >= minHeight) return scale;
  }
  return 1;
}

/** The parts of the WebAssembly JS API used here: tsconfig's lib has no DOM, where TypeScript declares them. */
type WasmImports = Record<string, Record<string, (...args: number[]) => unknown>>;
interface WasmJsApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: WasmImports) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmJsApi }).WebAssembly;

/** The C exports of decode.c (pointers and sizes are byte offsets into `memory`). */
interface DecoderExports {
  memory: { readonly buffer: ArrayBuffer };
  _initialize(): void;
  malloc(size: number): number;
  free(pointer: number): void;
  jd_read_header(data: number, size: number, info: number): number;
  jd_decode_grey(data: number, size: number, scaleDenom: number, flags: number, maxMemory: number, info: number): number;
  jd_error_message(): number;
  jd_error_code(): number;
}

/** decode.c's JD_* info fields and flags. */
const INFO = { imageWidth: 0, imageHeight: 1, components: 2, colorSpace: 3, progressive: 4, outputWidth: 5, outputHeight: 6, length: 8 } as const;
const FAIL_ON_WARNING = 1;
/** libjpeg's own buffers (a progressive JPEG keeps every coefficient: 2 bytes a sample) stop here. */
const LIBJPEG_MAX_MEMORY = 192 * 1024 * 1024;
/**
 * WebAssembly memory never shrinks: once an unusual image (a large progressive one) has grown the instance
 * past this, the instance is dropped after its decode and the next decode starts a fresh one (a millisecond
 * or so, the compiled module being kept), so the process does not hold that memory for good.
 */
const RECYCLE_ABOVE_BYTES = 64 * 1024 * 1024;

/** One build's compiled module and its current instance, both made on first use. */
interface Build {
  /** The .wasm, beside this module (or beside the bundle, where npm run build copies it). */
  url: URL;
  compiled?: object;
  current?: DecoderExports;
}

const EIGHT_BIT: Build = { url: new URL("./libjpeg-turbo-grey.wasm", import.meta.url) };
const TWELVE_BIT: Build = { url: new URL("./libjpeg-turbo-grey12.wasm", import.meta.url) };

/** Only what libjpeg's unused default error printer and exit() link in (never called), and Wasm setjmp's helpers. */
function importsFor(): WasmImports {
  let tempRet0 = 0;
  const unsupported = () => 52; // WASI ENOSYS
  return {
    env: {
      getTempRet0: () => tempRet0,
      setTempRet0: (value: number) => {
        tempRet0 = value;
      },
      emscripten_notify_memory_growth: () => undefined,
    },
    wasi_snapshot_preview1: {
      fd_write: unsupported,
      fd_close: unsupported,
      fd_seek: unsupported,
      proc_exit: (code: number) => {
        throw new Error(`libjpeg-turbo tried to end its program (exit code ${code}).`);
      },
    },
  };
}

function decoder(build: Build): DecoderExports {
  if (build.current) return build.current;
  build.compiled ??= new wasmApi.Module(readFileSync(build.url));
  const exports = new wasmApi.Instance(build.compiled, importsFor()).exports as DecoderExports;
  exports._initialize();
  build.current = exports;
  return exports;
}

/** Compiles and instantiates the 8-bit decoder on this thread now, so the first image does not pay for it. */
export function warmScaledJpegDecoder(): void {
  decoder(EIGHT_BIT);
}

function cString(wasm: DecoderExports, pointer: number): string {
  const bytes = new Uint8Array(wasm.memory.buffer, pointer);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
}

function failure(wasm: DecoderExports, what: string): JpegDecodeError {
  const reason = cString(wasm, wasm.jd_error_message()) || "unknown libjpeg error";
  return new JpegDecodeError(`The JPEG ${what}: ${reason}.`, wasm.jd_error_code());
}

/**
 * Runs `use` with `bytes` copied into the instance's memory and an info array beside them, freeing both after.
 * Any other exception (a WebAssembly trap or exit(): neither should happen) drops the instance, so the next
 * decode gets a fresh one, and is thrown as a JpegDecodeError for this image; memory grown past
 * RECYCLE_ABOVE_BYTES drops it too.
 */
function withInput<T>(build: Build, bytes: Uint8Array, use: (wasm: DecoderExports, data: number, info: number) => T): T {
  const wasm = decoder(build);
  // The bytes, then the info array at the next multiple of 4.
  const data = wasm.malloc(bytes.byteLength + 3 + INFO.length * 4);
  if (data === 0) throw new JpegDecodeError(`The JPEG (${bytes.byteLength} bytes) does not fit in the decoder's memory.`);
  try {
    new Uint8Array(wasm.memory.buffer, data, bytes.byteLength).set(bytes);
    const info = (data + bytes.byteLength + 3) & ~3;
    return use(wasm, data, info);
  } catch (error) {
    if (error instanceof JpegDecodeError) throw error;
    build.current = undefined;
    throw new JpegDecodeError(`The JPEG broke the decoder, which was restarted (${String(error)}).`, undefined, { cause: error });
  } finally {
    if (build.current === wasm) {
      wasm.free(data);
      if (wasm.memory.buffer.byteLength > RECYCLE_ABOVE_BYTES) build.current = undefined;
    }
  }
}

function readInfo(wasm: DecoderExports, info: number): Int32Array {
  return new Int32Array(wasm.memory.buffer, info, INFO.length).slice();
}

function headerFrom(values: Int32Array): JpegHeader {
  return {
    width: values[INFO.imageWidth]!,
    height: values[INFO.imageHeight]!,
    components: values[INFO.components]!,
    progressive: values[INFO.progressive] === 1,
  };
}

function readHeaderAt(wasm: DecoderExports, data: number, size: number, info: number): JpegHeader {
  if (wasm.jd_read_header(data, size, info) !== 1) throw failure(wasm, "header cannot be read");
  return headerFrom(readInfo(wasm, info));
}

/** Reads a JPEG's size, components and mode from its header, decoding no pixels. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  return withInput(EIGHT_BIT, bytes, (wasm, data, info) => readHeaderAt(wasm, data, bytes.byteLength, info));
}

/**
 * Decodes with `build` at the largest reduction that keeps the image at least minWidth x minHeight, the samples
 * copied out of the instance as `Samples` (one element a sample: bytes for the 8-bit build, words for the 12-bit).
 */
function decodeWith<Samples extends Uint8Array | Uint16Array>(
  build: Build,
  samples: new (buffer: ArrayBuffer, offset: number, length: number) => Samples,
  bytes: Uint8Array,
  options: ScaledDecodeOptions,
): { width: number; height: number; data: Samples; scale: JpegScale } {
  const { minWidth, minHeight, maxPixels = DEFAULT_MAX_PIXELS, failOnWarning = true } = options;
  return withInput(build, bytes, (wasm, data, info) => {
    const header = readHeaderAt(wasm, data, bytes.byteLength, info);
    if (header.width * header.height > maxPixels) {
      throw new JpegDecodeError(
        `The JPEG declares ${header.width}x${header.height} pixels, more than the ${maxPixels / 1e6} megapixels the decoder takes.`,
      );
    }
    const scale = scaleFor(header.width, header.height, minWidth, minHeight);
    const pixels = wasm.jd_decode_grey(data, bytes.byteLength, scale, failOnWarning ? FAIL_ON_WARNING : 0, LIBJPEG_MAX_MEMORY, info);
    if (pixels === 0) throw failure(wasm, "cannot be decoded");
    const values = readInfo(wasm, info);
    const width = values[INFO.outputWidth]!;
    const height = values[INFO.outputHeight]!;
    const grey = new samples(wasm.memory.buffer, pixels, width * height).slice() as Samples;
    wasm.free(pixels);
    return { width, height, data: grey, scale };
  });
}

/**
 * Decodes a JPEG to 8-bit grey at the largest reduction (1/1, 1/2, 1/4 or 1/8, see {@link scaleFor}) that keeps
 * it at least minWidth x minHeight. Grey is libjpeg's own conversion: the Y channel of a YCbCr JPEG, the
 * single channel of a grey one. Throws a {@link JpegDecodeError} for anything libjpeg refuses (corrupt,
 * truncated, 12-bit, CMYK, ...) or a header declaring more than maxPixels; the decoder stays usable.
 */
export function decodeGreyScaled(bytes: Uint8Array, options: ScaledDecodeOptions): ScaledGreyImage {
  return decodeWith(EIGHT_BIT, Uint8Array, bytes, options);
}

/** A decoded 12-bit grey image: one 16-bit word a pixel holding 0..4095, row after row, no padding. */
export interface Grey12Image {
  width: number;
  height: number;
  data: Uint16Array;
}

/**
 * Decodes a JPEG with 12-bit samples (SOF1, as DICOM's JPEG Extended stores more than 8 bits) to 12-bit grey at
 * full size, with the 12-bit build; refusals as {@link decodeGreyScaled}'s (an 8-bit JPEG is refused, "Unsupported
 * JPEG data precision 8").
 */
export function decodeGrey12(bytes: Uint8Array, options: Pick<ScaledDecodeOptions, "maxPixels" | "failOnWarning"> = {}): Grey12Image {
  const { width, height, data } = decodeWith(TWELVE_BIT, Uint16Array, bytes, { ...options, minWidth: Infinity, minHeight: Infinity });
  return { width, height, data };
}
