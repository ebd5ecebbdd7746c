import { jsonResponse, type CoreResponse } from "./http/http-types.js";

/** The machine-readable codes of error answers, `{"error": {"code", "message"}}`. */
export const ERROR_CODES = {
  badRequest: "BAD_REQUEST",
  malformedForm: "MALFORMED_FORM",
  missingFile: "MISSING_FILE",
  emptyFile: "EMPTY_FILE",
  tooManyParts: "TOO_MANY_PARTS",
  tooManyFiles: "TOO_MANY_FILES",
  payloadTooLarge: "PAYLOAD_TOO_LARGE",
  imageTooLarge: "IMAGE_TOO_LARGE",
  unsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
  unusableImage: "UNUSABLE_IMAGE",
  unsupportedDicom: "UNSUPPORTED_DICOM",
  notAChestXray: "NOT_A_CHEST_XRAY",
  notFound: "NOT_FOUND",
  methodNotAllowed: "METHOD_NOT_ALLOWED",
  internal: "INTERNAL_ERROR",
  modelUnavailable: "MODEL_UNAVAILABLE",
  overloaded: "OVERLOADED",
  shuttingDown: "SHUTTING_DOWN",
  outOfTime: "OUT_OF_TIME",
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** The JSON body of every error answer; an error with figures to show (the gate's score, say) adds them beside the message. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string } & Partial<GateVerdict>;
}

/** The out-of-distribution gate's judgement of one image: refused when the score is over the threshold. */
export interface GateVerdict {
  score: number;
  threshold: number;
}

/**
 * Base of every error a request can end with, the client's to fix or the service's to report. Each carries
 * its status, code and headers and builds its own answer: adapters throw these or call toResponse(), and no
 * other code writes an error answer.
 */
export abstract class ApiError extends Error {
  abstract override readonly name: string;

  protected constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Headers the answer carries besides its content type. */
  get headers(): Record<string, string> {
    return {};
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }

  /** The whole answer: status, JSON body and headers. */
  toResponse(): CoreResponse {
    return jsonResponse(this.status, this.toBody(), this.headers);
  }

  /** The error as plain data, to cross a worker-thread boundary; apiErrorFromData rebuilds it, subclass and all. */
  toData(): ApiErrorData {
    // Each subclass sets its own name, and every subclass is in FROM_DATA (test/core/errors.test.ts).
    return { name: this.name as ApiErrorName, code: this.code, message: this.message };
  }
}

/** 400: the request or its form cannot be read. */
export class BadRequestError extends ApiError {
  override readonly name = "BadRequestError";
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(400, code, message, options);
  }
}

/** 404: no such route. */
export class NotFoundError extends ApiError {
  override readonly name = "NotFoundError";
  constructor(message: string, options?: ErrorOptions) {
    super(404, ERROR_CODES.notFound, message, options);
  }
}

/** 405: the route exists, not with that method; Allow lists the methods it takes. */
export class MethodNotAllowedError extends ApiError {
  override readonly name = "MethodNotAllowedError";
  constructor(
    message: string,
    readonly allowed: readonly string[],
    options?: ErrorOptions,
  ) {
    super(405, ERROR_CODES.methodNotAllowed, message, options);
  }

  override get headers(): Record<string, string> {
    return { allow: this.allowed.join(", ") };
  }

  override toData(): ApiErrorData {
    return { ...super.toData(), allowed: [...this.allowed] };
  }
}

/** 413: the body, the file or the image's declared dimensions are over a limit. */
export class PayloadTooLargeError extends ApiError {
  override readonly name = "PayloadTooLargeError";
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(413, code, message, options);
  }
}

/** 415: the request or the file is not of a type the service reads. */
export class UnsupportedMediaTypeError extends ApiError {
  override readonly name = "UnsupportedMediaTypeError";
  constructor(message: string, options?: ErrorOptions) {
    super(415, ERROR_CODES.unsupportedMediaType, message, options);
  }
}

/** 422: a JPEG, PNG or DICOM the model cannot use (corrupt, lying about its sizes, too small, wrong shape). */
export class UnusableImageError extends ApiError {
  override readonly name = "UnusableImageError";
  constructor(message: string, options?: ErrorOptions) {
    super(422, ERROR_CODES.unusableImage, message, options);
  }
}

/**
 * 422: a readable DICOM file that is not a single-frame greyscale radiograph (no pixel data, several frames,
 * colour, CT, MR...). Its message may name the modality, photometric interpretation, bits stored or transfer
 * syntax, never any other header value (names, IDs and dates live there).
 */
export class UnsupportedDicomError extends ApiError {
  override readonly name = "UnsupportedDicomError";
  constructor(message: string, options?: ErrorOptions) {
    super(422, ERROR_CODES.unsupportedDicom, message, options);
  }
}

/**
 * 422: the image does not look like the frontal pediatric chest X-rays the model was trained on (a photo, a
 * screenshot, another body part, an adult's X-ray), so the model will not classify it. The body carries the
 * gate's score and threshold.
 */
export class NotAChestXrayError extends ApiError {
  override readonly name = "NotAChestXrayError";
  constructor(
    readonly verdict: GateVerdict,
    options?: ErrorOptions,
  ) {
    super(
      422,
      ERROR_CODES.notAChestXray,
      `This image does not look like a frontal chest X-ray of a child, the only images the model was trained on ` +
        `(its distance from them is ${verdict.score.toFixed(1)}, over the limit of ${verdict.threshold.toFixed(1)}), ` +
        `so it will not be classified. Send a frontal (PA or AP) pediatric chest X-ray as a JPEG, PNG or DICOM file, uncropped and upright.`,
      options,
    );
  }

  override toBody(): ErrorBody {
    const body = super.toBody();
    return { error: { ...body.error, score: this.verdict.score, threshold: this.verdict.threshold } };
  }

  override toData(): ApiErrorData {
    return { ...super.toData(), verdict: { ...this.verdict } };
  }
}

/** 500: the service failed; the message says to retry and hides the cause, which stays for the logs. */
export class InternalError extends ApiError {
  override readonly name = "InternalError";
  constructor(message: string, options?: ErrorOptions) {
    super(500, ERROR_CODES.internal, message, options);
  }
}

/** 503: the model could not be loaded, so no image can be classified. */
export class ModelUnavailableError extends ApiError {
  override readonly name = "ModelUnavailableError";
  constructor(message: string, options?: ErrorOptions) {
    super(503, ERROR_CODES.modelUnavailable, message, options);
  }
}

/**
 * 503 for now, not for good: the server is starting, full or shutting down. Retry-After says when to try
 * again, which the CLI and any HTTP client honour.
 */
export class TemporarilyUnavailableError extends ApiError {
  override readonly name = "TemporarilyUnavailableError";
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(503, code, message, options);
  }

  override get headers(): Record<string, string> {
    return { "retry-after": String(this.retryAfterSeconds) };
  }

  override toData(): ApiErrorData {
    return { ...super.toData(), retryAfterSeconds: this.retryAfterSeconds };
  }
}

/** What an error's data holds besides the subclass's name. */
interface ApiErrorFields {
  code: ErrorCode;
  message: string;
  allowed?: string[];
  retryAfterSeconds?: number;
  verdict?: GateVerdict;
}

/** Rebuilds each subclass from its data. */
const FROM_DATA = {
  BadRequestError: ({ code, message }) => new BadRequestError(code, message),
  NotFoundError: ({ message }) => new NotFoundError(message),
  MethodNotAllowedError: ({ message, allowed }) => new MethodNotAllowedError(message, allowed ?? []),
  PayloadTooLargeError: ({ code, message }) => new PayloadTooLargeError(code, message),
  UnsupportedMediaTypeError: ({ message }) => new UnsupportedMediaTypeError(message),
  UnusableImageError: ({ message }) => new UnusableImageError(message),
  UnsupportedDicomError: ({ message }) => new UnsupportedDicomError(message),
  // toData() always sets the verdict of this subclass.
  NotAChestXrayError: ({ verdict }) => new NotAChestXrayError(verdict!),
  InternalError: ({ message }) => new InternalError(message),
  ModelUnavailableError: ({ message }) => new ModelUnavailableError(message),
  TemporarilyUnavailableError: ({ code, message, retryAfterSeconds }) => new TemporarilyUnavailableError(code, message, retryAfterSeconds ?? 1),
} as const satisfies Record<string, (fields: ApiErrorFields) => ApiError>;

/** The name of each ApiError subclass. */
export type ApiErrorName = keyof typeof FROM_DATA;

/** An ApiError as structured-clone data: its subclass by name and what that subclass's constructor takes. */
export interface ApiErrorData extends ApiErrorFields {
  name: ApiErrorName;
}

/** The ApiError, of its own subclass, that toData() described (in another thread, say). */
export function apiErrorFromData(data: ApiErrorData): ApiError {
  return FROM_DATA[data.name](data);
}

/** Turns anything thrown into an ApiError, hiding internals of unexpected failures. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new InternalError("The classifier failed unexpectedly; try again.", { cause: error });
}
