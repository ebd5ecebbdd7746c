/**
 * Errors a request can end with. Each carries the HTTP status and the machine-readable code
 * that adapters put into the JSON answer `{"error": {"code", "message"}}`.
 */
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
  notFound: "NOT_FOUND",
  methodNotAllowed: "METHOD_NOT_ALLOWED",
  internal: "INTERNAL_ERROR",
  modelUnavailable: "MODEL_UNAVAILABLE",
  overloaded: "OVERLOADED",
  shuttingDown: "SHUTTING_DOWN",
} as const;

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Base of every error that is the client's to fix or the service's to report. */
export class ApiError extends Error {
  override readonly name: string = "ApiError";

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** 400: the request or its form cannot be read. */
export class BadRequestError extends ApiError {
  override readonly name = "BadRequestError";
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(400, code, message, options);
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

/** 422: a JPEG or PNG the model cannot use (corrupt, too small, wrong shape). */
export class UnusableImageError extends ApiError {
  override readonly name = "UnusableImageError";
  constructor(message: string, options?: ErrorOptions) {
    super(422, ERROR_CODES.unusableImage, message, options);
  }
}

/** 404 and 405: no such route, or not with that method. */
export class RouteError extends ApiError {
  override readonly name = "RouteError";
}

/** 503: the model could not be loaded, so no request can be answered. */
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
}

/** Turns anything thrown into an ApiError, hiding internals of unexpected failures. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(500, ERROR_CODES.internal, "The classifier failed unexpectedly; try again.", {
    cause: error,
  });
}
