import { ERROR_CODES } from "../errors.js";
import { BATCH_LIMITS, FORM_LIMITS, IMAGE_LIMITS, mib } from "../limits.js";
import { LABELS, type ExplanationManifest } from "../model/manifest.js";
import type { RouteName } from "./routes.js";
import { READ_TRANSFER_SYNTAX_NAMES } from "../dicom/transfer-syntaxes.js";
import { bodyLimitWords, type ApiHost } from "./api-host.js";

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const IMAGE_RULES =
  `JPEG, PNG or DICOM, at most ${IMAGE_LIMITS.maxSide} pixels a side and ${IMAGE_LIMITS.maxPixels / 1e6} megapixels; ` +
  `at least ${IMAGE_LIMITS.minSide} pixels a side. The type is judged by the file's bytes, whatever the part's declared type ` +
  `(application/dicom, application/octet-stream or none). A DICOM file (with or without its 128-byte preamble and file meta) must be ` +
  `a single-frame greyscale radiograph (CR, DX, or a DX-like secondary capture; MONOCHROME1 or MONOCHROME2, 8 to 16 bits stored) in one of: ` +
  `${READ_TRANSFER_SYNTAX_NAMES.join(", ")} (JPEG Baseline with 8-bit samples, JPEG Extended with 8 or 12). It is rendered as a viewer shows it (rescale, the first window or ` +
  `the VOI LUT, else the full range of its values; MONOCHROME1 and Presentation LUT Shape INVERSE inverted)`;

/** The classify route's size rule on a host: its own body limit, and where larger bodies go. */
function classifySizeRule(host: ApiHost): string {
  const { limit, largerBodies } = bodyLimitWords(host);
  return `On this host the whole request may be at most ${limit}.${largerBodies ? ` Larger requests: ${largerBodies}.` : ""}`;
}

const unavailable = errorResponse(
  "Not now (see Retry-After): the model is loading or unavailable, the server is full or shutting down (OVERLOADED, MODEL_UNAVAILABLE), or a Lambda invocation has too little time left for the work (OUT_OF_TIME)",
);

const fileForm = (multiple: boolean) => ({
  required: true,
  content: {
    "multipart/form-data": {
      schema: {
        type: "object",
        required: [FORM_LIMITS.fileField],
        properties: {
          [FORM_LIMITS.fileField]: multiple
            ? { type: "array", items: { type: "string", format: "binary" }, description: "The X-rays, JPEG, PNG or DICOM" }
            : { type: "string", format: "binary", description: "The X-ray, JPEG, PNG or DICOM" },
        },
      },
    },
  },
});

const API_KEY_SCHEME = "apiKey";
/** The routes that are not public take an API key where the deployment requires one, and none elsewhere. */
const API_KEY_IF_REQUIRED = [{}, { [API_KEY_SCHEME]: [] }];

/** What the Explanation schema says of the heatmap's scale: the model's own numbers once it is loaded. */
function scaleWords(explanation: ExplanationManifest | undefined): string {
  const numbers = explanation
    ? `black (0) at logit ${explanation.scale.black} and below, white (255) at logit ${explanation.scale.white.toFixed(3)} and above, linear between`
    : "black (0) at the decision point (logit 0) and below, white (255) at the model's fixed white point and above (the manifest's explanation.scale), linear between";
  return (
    "An 8-bit greyscale PNG (colour type 0), width x height pixels, stretched over the whole X-ray as the model's input is (no aspect kept): " +
    "the class activation map of the ensemble (Zhou et al. 2016), the PNEUMONIA logit (decision threshold folded in: 0 is the decision point) " +
    `that each place alone would give. One fixed scale for every image: ${numbers}, rounded. Brighter means stronger evidence for PNEUMONIA; ` +
    "a clear NORMAL X-ray's map is mostly dark."
  );
}

/** The query parameter that asks for where the model looked, on both classify routes. */
const explainParameter = (perFile: boolean, explanation: ExplanationManifest | undefined) => ({
  name: "explain",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["true"] },
  description:
    `true adds \`explanation\` to ${perFile ? "each file's result" : "the answer"}: where the model looked, as a class activation map (see the Explanation schema). ` +
    "Any other value, or the parameter repeated, is 400 BAD_REQUEST; without it the answer is as without explanations. " +
    `The heatmap: ${scaleWords(explanation)}`,
});

/** Operations by route name, as a host serves them; the document holds those of the routes served. */
const operations = (host: ApiHost, explanation: ExplanationManifest | undefined): Record<RouteName, object> => ({
  classify: {
    summary: "Classify one chest X-ray",
    description: `Send one X-ray as multipart/form-data in the field "${FORM_LIMITS.fileField}" (${IMAGE_RULES}). ${classifySizeRule(host)} Add ?explain=true for where the model looked.`,
    parameters: [explainParameter(false, explanation)],
    requestBody: fileForm(false),
    responses: {
      "200": { description: "The model's answer", content: { "application/json": { schema: { $ref: "#/components/schemas/Classification" } } } },
      "400": errorResponse("The form is malformed, or has no file, an empty file or several files; or explain has a value other than true"),
      "413": errorResponse("The body, the file or the image's dimensions are over a limit"),
      "415": errorResponse("Not multipart/form-data, the file is not a JPEG, PNG or DICOM, or a DICOM file in a transfer syntax not read (named in the message)"),
      "422": errorResponse(
        "A JPEG, PNG or DICOM the model cannot use: corrupt, lying about its sizes, too small or too elongated (UNUSABLE_IMAGE); a DICOM file " +
          "that is not a single-frame greyscale radiograph: no pixel data, several frames, colour, CT, MR... (UNSUPPORTED_DICOM); or an image that does not look like " +
          "a frontal pediatric chest X-ray like those the model was trained on (NOT_A_CHEST_XRAY: a photo, a screenshot, a document, " +
          "another modality or body part, a sideways, inverted or cropped X-ray, an adult's X-ray), with the gate's score and threshold",
      ),
      "503": unavailable,
    },
  },
  classifyBatch: {
    summary: "Classify several chest X-rays",
    description:
      `Send up to ${BATCH_LIMITS.maxFiles} X-rays as multipart/form-data, each a part of the field "${FORM_LIMITS.fileField}" ` +
      `(${IMAGE_RULES}; each file at most ${mib(IMAGE_LIMITS.maxFileBytes)}, the body at most ${mib(BATCH_LIMITS.maxBodyBytes)}). The answer has one result per file, ` +
      "in the form's order: the classification, or the error that file alone would have got (422 NOT_A_CHEST_XRAY for an image the " +
      "out-of-distribution gate refuses). Add ?explain=true for where the model looked, in each file's result.",
    parameters: [explainParameter(true, explanation)],
    requestBody: fileForm(true),
    responses: {
      "200": { description: "One result per file", content: { "application/json": { schema: { $ref: "#/components/schemas/BatchResults" } } } },
      "400": errorResponse("The form is malformed, has no file, an empty file or too many files; or explain has a value other than true"),
      "413": errorResponse("The body or a file is over a limit"),
      "415": errorResponse("Not multipart/form-data"),
      "503": unavailable,
    },
  },
  health: {
    summary: "Readiness: 200 once the model is loaded and warm",
    responses: {
      "200": { description: "Ready", content: { "application/json": { schema: { $ref: "#/components/schemas/Health" } } } },
      "503": unavailable,
    },
  },
  metrics: { summary: "Queue depth, batch sizes and latencies in Prometheus's text format", responses: { "200": { description: "Prometheus text" } } },
  openApi: { summary: "This document", responses: { "200": { description: "OpenAPI 3 document" } } },
  docs: { summary: "This document in Swagger UI, where each operation can be tried", responses: { "200": { description: "HTML page" } } },
  page: { summary: "The web page: pick or drop X-rays, see each answer, download them as CSV", responses: { "200": { description: "HTML page" } } },
  webFile: {
    summary: "A script or stylesheet of the web page or of Swagger UI",
    parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
    responses: { "200": { description: "The file" }, "404": errorResponse("No such file") },
  },
});

/** The OpenAPI 3 document of a host's routes and limits, at /openapi.json and rendered at /docs. */
export function openApiDocument(model: { name: string; version: string; explanation?: ExplanationManifest } | undefined, host: ApiHost) {
  const paths: Record<string, Record<string, object>> = {};
  const served = operations(host, model?.explanation);
  for (const [name, route] of Object.entries(host.routes)) {
    const operation = served[name as RouteName];
    (paths[route.path] ??= {})[route.method.toLowerCase()] = route.public ? operation : { ...operation, security: API_KEY_IF_REQUIRED };
  }
  return {
    openapi: "3.0.3",
    info: {
      title: "Pneumonia classifier",
      version: model?.version ?? "unknown",
      description:
        `Classifies a pediatric chest X-ray as NORMAL or PNEUMONIA with the CNN ${model ? `${model.name} ${model.version}` : ""}. ` +
        "Images that do not look like a frontal pediatric chest X-ray like those it was trained on are refused with 422 NOT_A_CHEST_XRAY. " +
        "Not a medical device: for research and demonstration only.",
    },
    // Relative to where the document is served, so clients (Swagger UI's "Try it out" among them) keep a stage
    // path such as /prod or /gpu.
    servers: [{ url: ".", description: "Where this document is served" }],
    paths,
    components: {
      securitySchemes: {
        [API_KEY_SCHEME]: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "The deployment's API key, where it requires one (the stack's default); npm start and the batching server run on their own need none.",
        },
      },
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
            source: {
              type: "object",
              description: "DICOM input only: the only header fields the service repeats (nothing else from the header is logged or answered)",
              properties: {
                modality: { type: "string" },
                photometricInterpretation: { type: "string" },
                bitsStored: { type: "integer" },
                transferSyntax: { type: "string" },
              },
            },
            model: { type: "object", properties: { name: { type: "string" }, version: { type: "string" } } },
            timingsMs: {
              type: "object",
              description: "Server-side milliseconds per stage",
              properties: { parse: { type: "number" }, preprocess: { type: "number" }, inference: { type: "number" } },
            },
            explanation: { $ref: "#/components/schemas/Explanation" },
          },
        },
        Explanation: {
          type: "object",
          description: "Only with explain=true: where the model looked",
          required: ["method", "width", "height", "heatmap"],
          properties: {
            method: { type: "string", enum: ["CAM"], description: "Class activation map (Zhou et al. 2016), exact for this model" },
            width: { type: "integer", description: "The heatmap's width in pixels: the model input's" },
            height: { type: "integer", description: "The heatmap's height in pixels: the model input's" },
            heatmap: { type: "string", format: "uri", pattern: "^data:image/png;base64,", description: scaleWords(model?.explanation) },
          },
        },
        BatchResults: {
          type: "object",
          required: ["results", "model"],
          properties: {
            results: {
              type: "array",
              items: {
                type: "object",
                description: "The file's name and HTTP status as sent alone, then its classification or its error",
                required: ["file", "status"],
                properties: {
                  file: { type: "string" },
                  status: { type: "integer" },
                  prediction: { type: "string", enum: [...LABELS] },
                  probability: { type: "number" },
                  probabilities: { type: "object", properties: Object.fromEntries(LABELS.map((label) => [label, { type: "number" }])) },
                  explanation: { $ref: "#/components/schemas/Explanation" },
                  error: { $ref: "#/components/schemas/Error/properties/error" },
                },
              },
            },
            model: { type: "object", properties: { name: { type: "string" }, version: { type: "string" } } },
            timingsMs: { type: "object", properties: { parse: { type: "number" }, total: { type: "number" } } },
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
                score: {
                  type: "number",
                  description:
                    "NOT_A_CHEST_XRAY only: the out-of-distribution gate's score, the Mahalanobis distance of the image's CNN features " +
                    "from the training X-rays'; refused when over the threshold",
                },
                threshold: { type: "number", description: "NOT_A_CHEST_XRAY only: the score over which an image is refused" },
              },
            },
          },
        },
      },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
