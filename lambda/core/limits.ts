/**
 * Every limit the service enforces on what a client sends, in one place.
 * The core, both HTTP fronts and the tests read these values.
 *
 * Sizes are counted and written in MiB (2^20 bytes) throughout. AWS writes "MB" for its limits but counts
 * MiB: Lambda refuses an invoke payload over 6 MB as "Request must be smaller than 6291456 bytes".
 */

/** Bytes in a MiB. */
export const MIB = 2 ** 20;

/** A size as answers and documents state it: "10 MiB", "4.49 MiB" (rounded down, so a limit is never overstated). */
export function mib(bytes: number): string {
  return `${Math.floor((bytes / MIB) * 100) / 100} MiB`;
}

/** What an uploaded image may be, checked from its header before it is decoded. */
export const IMAGE_LIMITS = {
  /** Largest uploaded file. API Gateway refuses bodies over 10 MiB before they reach us. */
  maxFileBytes: 10 * MIB,
  /**
   * Largest declared width times height. Chest X-rays are 1 to 16 megapixels (3000 x 3000 on most flat-panel
   * detectors); decoding 25 MP takes about 100 MB of RGBA, and `npm run fuzz` saw a 3.5 KB JPEG declaring
   * 40 MP push the process to 1 GB.
   */
  maxPixels: 25_000_000,
  /** Largest declared side, so a long strip cannot pass the pixel limit. */
  maxSide: 10_000,
  /**
   * Above this many declared pixels, the file must hold at least `minBytesPerPixel` of its type: a few
   * kilobytes declaring 25 MP (found by `npm run fuzz`) decode to a blank image in up to 2 s and 1 GB. The
   * real X-rays in ../shared/data hold at least 0.06 bytes a pixel as JPEG; lossless PNG holds far more. A DICOM
   * may hold lossy JPEG or JPEG 2000, so it is held to JPEG's figure (its uncompressed pixel data is checked exactly).
   */
  densityCheckAbovePixels: 4_000_000,
  minBytesPerPixel: { "image/jpeg": 0.005, "image/png": 0.05, "application/dicom": 0.005 },
  /** Smallest side the model can say anything about once the image is scaled to its input. */
  minSide: 64,
  /** Widest aspect ratio (long side / short side) that still looks like a chest X-ray. */
  maxAspectRatio: 4,
  /**
   * Time a compressed DICOM frame (JPEG Lossless, JPEG-LS, JPEG 2000) may take to decode on its codec thread, by
   * its declared size: base + perMegapixel for each megapixel, at most max. `npm run fuzz -- --target dicom`
   * found JPEG-LS frames on which CharLS never returns; the thread is then ended and the file refused (422).
   * A 2000x2128 JPEG 2000 X-ray took 2.2 s on this shared 2-core machine; the Lambda function times out at 15 s.
   */
  compressedDicomDecodeMs: { base: 3000, perMegapixel: 1000, max: 10_000 },
} as const;

/** Limits of the AWS services in front of the handler, which the local front reproduces. */
export const PLATFORM_LIMITS = {
  /** API Gateway's payload limit; bodies over it never reach Lambda. */
  apiGatewayPayloadBytes: 10 * MIB,
  /** Lambda's synchronous invoke payload limit, which applies to the whole event (base64 body included). */
  lambdaInvokePayloadBytes: 6 * MIB,
  /** Room the event needs besides its body (headers, request context): about 1.5 KiB from curl through the local front. */
  lambdaEventAllowanceBytes: 4 * 1024,
} as const;

/**
 * The Lambda function's settings that its local stand-in (`npm start`) reports as its own. The CDK stack's
 * default (`-c lambdaMemoryMb`) is the same number and should be read from here.
 */
export const LAMBDA_FUNCTION = {
  /** Memory, and so CPU: 1769 MB is one full vCPU (README, Lambda sizing). */
  memoryMb: 1769,
} as const;

/** What a request and its multipart form may be. */
export const FORM_LIMITS = {
  /** The form field that carries the X-ray, as in the article's API. */
  fileField: "file",
  /** Whole request body, before base64 decoding: API Gateway's own payload limit, the batching server's classify route. */
  maxBodyBytes: PLATFORM_LIMITS.apiGatewayPayloadBytes,
  /**
   * Whole request body on the Lambda route and `npm start`: what fits Lambda's invoke payload once
   * base64-encoded (4 bytes for every 3), beside the rest of the event. 4.49 MiB.
   */
  maxLambdaBodyBytes: Math.floor(((PLATFORM_LIMITS.lambdaInvokePayloadBytes - PLATFORM_LIMITS.lambdaEventAllowanceBytes) * 3) / 4),
  /** Files the classify route takes; a form may also carry up to maxFields text fields, which are ignored. */
  maxFiles: 1,
  maxFields: 16,
  maxFieldBytes: 4 * 1024,
  maxFieldNameBytes: 128,
  maxHeaderPairs: 32,
  /**
   * The whole body is in memory, so busboy reads it in milliseconds; it has been seen to never finish on a
   * form that closes before its parts (found by `npm run fuzz`). Past this, the form is refused as malformed.
   */
  parseTimeoutMs: 1000,
} as const;

/**
 * The batch route of the batching server (lambda/serve-gpu.ts): several X-rays in one form. Each file is held
 * to IMAGE_LIMITS; the body may be larger than API Gateway's, since the server is reached through its load
 * balancer too (through API Gateway's /gpu route, its 10 MiB still applies).
 */
export const BATCH_LIMITS = {
  maxFiles: 32,
  maxBodyBytes: 64 * MIB,
} as const;

/** Image formats the decoder accepts, keyed by the MIME type it answers with. */
export const SUPPORTED_IMAGE_TYPES = {
  "image/jpeg": "JPEG",
  "image/png": "PNG",
  "application/dicom": "DICOM",
} as const;

export type SupportedImageType = keyof typeof SUPPORTED_IMAGE_TYPES;
