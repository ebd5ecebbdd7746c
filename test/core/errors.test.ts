import { describe, expect, it } from "vitest";
import {
  BadRequestError,
  ERROR_CODES,
  InternalError,
  MethodNotAllowedError,
  ModelUnavailableError,
  NotAChestXrayError,
  NotFoundError,
  PayloadTooLargeError,
  TemporarilyUnavailableError,
  UnsupportedDicomError,
  UnsupportedMediaTypeError,
  UnusableImageError,
  apiErrorFromData,
  toApiError,
  type ApiError,
  type ApiErrorName,
} from "../../lambda/core/errors.js";

/** One error of every subclass; the record's type makes a subclass without an example fail to compile. */
const EXAMPLES: Record<ApiErrorName, ApiError> = {
  BadRequestError: new BadRequestError(ERROR_CODES.malformedForm, "The form is malformed; resend it."),
  NotFoundError: new NotFoundError("No route /predict; see /docs for the API."),
  MethodNotAllowedError: new MethodNotAllowedError("/health takes GET, not POST.", ["GET"]),
  PayloadTooLargeError: new PayloadTooLargeError(ERROR_CODES.imageTooLarge, "The image is too large; downscale it."),
  UnsupportedMediaTypeError: new UnsupportedMediaTypeError("Not a JPEG or PNG; send one."),
  UnusableImageError: new UnusableImageError("The JPEG is truncated; send the whole file."),
  UnsupportedDicomError: new UnsupportedDicomError("The DICOM file is a CT image; send a chest radiograph (CR or DX)."),
  NotAChestXrayError: new NotAChestXrayError({ score: 61.25, threshold: 30.5 }),
  InternalError: new InternalError("The classifier failed unexpectedly; try again."),
  ModelUnavailableError: new ModelUnavailableError("The model could not be loaded; retry later."),
  TemporarilyUnavailableError: new TemporarilyUnavailableError(ERROR_CODES.overloaded, "Full; retry after a second.", 1),
};

describe("ApiError", () => {
  it.each(Object.entries(EXAMPLES))("names %s after its class", (name, error) => {
    // Assess
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
  });

  it.each(Object.entries(EXAMPLES))("rebuilds %s from its data as the same subclass with the same answer", (_name, error) => {
    // Act: structuredClone is what postMessage does to the data
    const rebuilt = apiErrorFromData(structuredClone(error.toData()));
    // Assess
    expect(rebuilt).toBeInstanceOf(error.constructor);
    expect(rebuilt.toResponse()).toEqual(error.toResponse());
  });

  it("answers with its status, the JSON error body and its content type", () => {
    // Act
    const response = EXAMPLES.UnusableImageError.toResponse();
    // Assess
    expect(response.statusCode).toBe(422);
    expect(response.headers).toEqual({ "content-type": "application/json" });
    expect(JSON.parse(response.body)).toEqual({ error: { code: "UNUSABLE_IMAGE", message: "The JPEG is truncated; send the whole file." } });
  });

  it("refuses an image that is not a chest X-ray with 422, a message in words and the gate's score and threshold", () => {
    // Act
    const response = EXAMPLES.NotAChestXrayError.toResponse();
    // Assess
    expect(response.statusCode).toBe(422);
    const { error } = JSON.parse(response.body);
    expect(error).toMatchObject({ code: "NOT_A_CHEST_XRAY", score: 61.25, threshold: 30.5 });
    expect(error.message).toMatch(/does not look like a frontal chest X-ray of a child.*61\.3.*30\.5/);
  });

  it("lists the allowed methods in Allow on 405 and says when to retry in Retry-After on a temporary 503", () => {
    // Act
    const methodNotAllowed = new MethodNotAllowedError("/pneumonia_classifier takes POST, not GET.", ["POST"]).toResponse();
    const shuttingDown = new TemporarilyUnavailableError(ERROR_CODES.shuttingDown, "Shutting down; send it again.", 5).toResponse();
    // Assess
    expect(methodNotAllowed.headers.allow).toBe("POST");
    expect(shuttingDown.headers["retry-after"]).toBe("5");
    expect(EXAMPLES.ModelUnavailableError.toResponse().headers).not.toHaveProperty("retry-after");
  });
});

describe("toApiError", () => {
  it("keeps an ApiError as it is", () => {
    // Act & Assess
    expect(toApiError(EXAMPLES.UnusableImageError)).toBe(EXAMPLES.UnusableImageError);
  });

  it("turns anything else into a 500 that hides the cause's message and keeps the cause", () => {
    // Prepare
    const cause = new Error("ENOENT /var/task/secret/path");
    // Act
    const error = toApiError(cause);
    // Assess
    expect(error).toBeInstanceOf(InternalError);
    expect(error.toResponse().statusCode).toBe(500);
    expect(error.message).not.toContain("ENOENT");
    expect(error.cause).toBe(cause);
  });
});
