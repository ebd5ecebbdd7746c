/**
 * Every limit the service enforces on what a client sends, in one place.
 * The Lambda adapter, the local HTTP front and the tests all read these values.
 */
export const IMAGE_LIMITS = {
  /** Largest uploaded file. API Gateway refuses bodies over 10 MB before they reach us. */
  maxFileBytes: 10 * 1024 * 1024,
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
   * real X-rays in ../shared/data hold at least 0.06 bytes a pixel as JPEG; lossless PNG holds far more.
   */
  densityCheckAbovePixels: 4_000_000,
  minBytesPerPixel: { "image/jpeg": 0.005, "image/png": 0.05 },
  /** Smallest side the model can say anything about once the image is scaled to its input. */
  minSide: 64,
  /** Widest aspect ratio (long side / short side) that still looks like a chest X-ray. */
  maxAspectRatio: 4,
} as const;

/** Limits of the AWS services in front of the handler, which the local front reproduces. */
export const PLATFORM_LIMITS = {
  /** API Gateway's payload limit; bodies over it never reach Lambda. */
  apiGatewayPayloadBytes: 10 * 1024 * 1024,
  /** Lambda's synchronous invoke payload limit, which applies to the whole event (base64 body included). */
  lambdaInvokePayloadBytes: 6 * 1024 * 1024,
} as const;

export const FORM_LIMITS = {
  /** The form field that carries the X-ray, as in the article's API. */
  fileField: "file",
  /** Whole request body, before base64 decoding: API Gateway's own payload limit. */
  maxBodyBytes: PLATFORM_LIMITS.apiGatewayPayloadBytes,
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
 * balancer too (through API Gateway's /gpu route, 10 MB still applies).
 */
export const BATCH_LIMITS = {
  maxFiles: 32,
  maxBodyBytes: 64 * 1024 * 1024,
} as const;

/** Image formats the decoder accepts, keyed by the MIME type it answers with. */
export const SUPPORTED_IMAGE_TYPES = {
  "image/jpeg": "JPEG",
  "image/png": "PNG",
} as const;

export type SupportedImageType = keyof typeof SUPPORTED_IMAGE_TYPES;
