import { ERROR_CODES } from "./errors.js";
import { FORM_LIMITS, IMAGE_LIMITS } from "./limits.js";
import { LABELS } from "./manifest.js";

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** The OpenAPI 3 document of the API, served at /openapi.json and rendered at /docs. */
export function openApiDocument(model: { name: string; version: string } | undefined) {
  return {
    openapi: "3.0.3",
    info: {
      title: "Pneumonia classifier",
      version: model?.version ?? "unknown",
      description:
        `Classifies a pediatric chest X-ray as NORMAL or PNEUMONIA with the CNN ${model ? `${model.name} ${model.version}` : ""}. ` +
        "Not a medical device: for research and demonstration only.",
    },
    paths: {
      "/pneumonia_classifier": {
        post: {
          summary: "Classify one chest X-ray",
          description:
            `Send one JPEG or PNG as multipart/form-data in the field "${FORM_LIMITS.fileField}" ` +
            `(at most ${IMAGE_LIMITS.maxFileBytes / 2 ** 20} MiB, ${IMAGE_LIMITS.maxSide} pixels a side, ` +
            `${IMAGE_LIMITS.maxPixels / 1e6} megapixels; at least ${IMAGE_LIMITS.minSide} pixels a side).`,
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: [FORM_LIMITS.fileField],
                  properties: { [FORM_LIMITS.fileField]: { type: "string", format: "binary", description: "The X-ray, JPEG or PNG" } },
                },
              },
            },
          },
          responses: {
            "200": {
              description: "The model's answer",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Classification" } } },
            },
            "400": errorResponse("The form is malformed, or has no file, an empty file or several files"),
            "413": errorResponse("The body, the file or the image's dimensions are over a limit"),
            "415": errorResponse("Not multipart/form-data, or the file is not a JPEG or PNG"),
            "422": errorResponse("A JPEG or PNG the model cannot use: corrupt, too small or too elongated"),
            "503": errorResponse("The model is not available"),
          },
        },
      },
      "/health": {
        get: {
          summary: "Readiness: 200 once the model is loaded",
          responses: {
            "200": {
              description: "Ready",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } },
            },
            "503": errorResponse("The model is not available"),
          },
        },
      },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3 document" } } } },
      "/docs": { get: { summary: "Interactive documentation", responses: { "200": { description: "HTML page" } } } },
    },
    components: {
      schemas: {
        Classification: {
          type: "object",
          required: ["prediction", "probability", "probabilities", "model"],
          properties: {
            prediction: { type: "string", enum: [...LABELS] },
            probability: { type: "number", description: "Probability of the predicted label" },
            probabilities: {
              type: "object",
              properties: Object.fromEntries(LABELS.map((label) => [label, { type: "number" }])),
            },
            model: { type: "object", properties: { name: { type: "string" }, version: { type: "string" } } },
            timingsMs: {
              type: "object",
              description: "Server-side milliseconds per stage",
              properties: { parse: { type: "number" }, preprocess: { type: "number" }, inference: { type: "number" } },
            },
          },
        },
        Health: {
          type: "object",
          properties: {
            status: { type: "string", enum: ["ok"] },
            model: {
              type: "object",
              properties: { name: { type: "string" }, version: { type: "string" }, sha256: { type: "string" } },
            },
          },
        },
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", enum: Object.values(ERROR_CODES) },
                message: { type: "string", description: "What went wrong and what to do about it" },
              },
            },
          },
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
