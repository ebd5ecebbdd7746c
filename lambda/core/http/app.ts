import { BATCH_LIMITS, FORM_LIMITS } from "../limits.js";
import {
  ApiError,
  BadRequestError,
  ERROR_CODES,
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  UnsupportedMediaTypeError,
  toApiError,
} from "../errors.js";
import { jsonResponse, type CoreRequest, type CoreResponse } from "./http-types.js";
import { parseImageUploads, type UploadedFile } from "./multipart.js";
import { openApiDocument } from "./openapi.js";
import { webFileResponse, webPageResponse } from "../web/web-files.js";
import { logger } from "../logger.js";
import { millis, type ClassifyOptions, type ImageClassification, type ImageClassifier } from "../model/image-classifier.js";
import { SERVER_ROUTES, templatedPath, type RouteName } from "./routes.js";
import { batchTooLargeError, bodyTooLargeError, type ApiHost } from "./api-host.js";
import { imageAnswer, type ErrorAnswer, type ImageAnswer, type ModelRef, type RequestObserver, type RequestOutcome } from "./request-outcome.js";

/** What the core needs from its host. */
export interface AppDependencies {
  /** Classifies uploaded images; rejects with an ApiError (503) while the model is unavailable. */
  images: () => Promise<ImageClassifier>;
  /** Metrics in Prometheus's text format, for hosts that serve the metrics route. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  /** Told each request's outcome once it is answered, for the host's metrics. @default - none */
  observe?: RequestObserver;
}

/** Handles one request; never throws, every failure becomes a JSON error answer. */
export type App = (request: CoreRequest) => Promise<CoreResponse>;

/** What a route learns about its images on the way, for the request's outcome. */
interface OutcomeRecord {
  images: (ImageAnswer | ErrorAnswer)[];
  parseMs?: number;
}

/** What a route works with besides the request: the host's dependencies, what the host is, and its outcome so far. */
interface RouteContext {
  deps: AppDependencies;
  host: ApiHost;
  record: OutcomeRecord;
}

type Route = (request: CoreRequest, context: RouteContext) => Promise<CoreResponse>;

/** The form's files, once the body's size and encoding are checked. */
async function readUploads(request: CoreRequest, maxFiles: number, maxBodyBytes: number, tooLarge: () => ApiError): Promise<UploadedFile[]> {
  if (request.body.length > maxBodyBytes) throw tooLarge();
  const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw new UnsupportedMediaTypeError(`Content-Encoding "${encoding.slice(0, 40)}" is not accepted; send the form uncompressed (JPEG and PNG are compressed already).`);
  }
  return parseImageUploads(request.body, request.headers["content-type"], { maxFiles });
}

const modelOf = ({ manifest }: ImageClassifier): ModelRef => ({ name: manifest.name, version: manifest.version });

/**
 * What a client reads of a classification: the gate's verdict stays inside, so an accepted image's answer is as
 * before; the explanation comes last, when asked for.
 */
const clientAnswer = ({ result: { prediction, probability, probabilities }, explanation }: ImageClassification) =>
  explanation ? { prediction, probability, probabilities, explanation } : { prediction, probability, probabilities };

/**
 * The classify routes' query: `explain=true` asks for each image's class activation map; any other value, a
 * repeated one, or explain for a model without the map's output is a 400 that says what to send.
 */
function classifyOptions(request: CoreRequest, images: ImageClassifier): ClassifyOptions {
  const values = request.query?.getAll("explain") ?? [];
  if (values.length === 0) return {};
  if (values.length > 1 || values[0] !== "true") {
    const got = values.map((value) => JSON.stringify(value.slice(0, 40))).join(", ");
    throw new BadRequestError(ERROR_CODES.badRequest, `The query parameter explain takes one value, true (got ${got}); leave it out for the answer without the heatmap.`);
  }
  const { name, version, explanation } = images.manifest;
  if (!explanation) throw new BadRequestError(ERROR_CODES.badRequest, `Model ${name} ${version} has no class activation map to explain with; leave explain out.`);
  return { explain: true };
}

async function classify(request: CoreRequest, { deps, host, record }: RouteContext): Promise<CoreResponse> {
  const started = performance.now();
  const [upload] = await readUploads(request, FORM_LIMITS.maxFiles, host.maxBodyBytes, () => bodyTooLargeError(host));
  const parsed = performance.now();
  record.parseMs = millis(started, parsed);
  const images = await deps.images();
  const [outcome] = await images.classifyImages([upload!.bytes], classifyOptions(request, images));
  if (outcome instanceof ApiError) throw outcome;
  record.images.push(imageAnswer(outcome!));
  const { header, result, timingsMs } = outcome!;
  const timings = { parse: record.parseMs, ...timingsMs };
  logger.info("classified", {
    outcome: result.prediction,
    probability: result.probability,
    image: { type: header.type, width: header.width, height: header.height, bytes: upload!.bytes.length },
    timingsMs: timings,
  });
  const { explanation, ...answer } = clientAnswer(outcome!);
  return jsonResponse(200, { ...answer, model: modelOf(images), timingsMs: timings, ...(explanation && { explanation }) });
}

/** Several X-rays in one form: one result or one error per file, in the form's order. */
async function classifyBatch(request: CoreRequest, { deps, record }: RouteContext): Promise<CoreResponse> {
  const started = performance.now();
  const uploads = await readUploads(request, BATCH_LIMITS.maxFiles, BATCH_LIMITS.maxBodyBytes, batchTooLargeError);
  const parsed = performance.now();
  const images = await deps.images();
  const outcomes = await images.classifyImages(
    uploads.map((upload) => upload.bytes),
    classifyOptions(request, images),
  );
  record.images.push(...outcomes.map((outcome) => (outcome instanceof ApiError ? { status: outcome.status, code: outcome.code } : imageAnswer(outcome))));
  const results = outcomes.map((outcome, i) => {
    const file = uploads[i]!.filename;
    if (outcome instanceof ApiError) return { file, status: outcome.status, ...outcome.toBody() };
    return { file, status: 200, ...clientAnswer(outcome) };
  });
  const timingsMs = { parse: millis(started, parsed), total: millis(started) };
  logger.info("classified batch", {
    images: uploads.length,
    failed: outcomes.filter((outcome) => outcome instanceof ApiError).length,
    timingsMs,
  });
  return jsonResponse(200, { results, model: modelOf(images), timingsMs });
}

async function health(_request: CoreRequest, { deps }: RouteContext): Promise<CoreResponse> {
  const { name, version, sha256 } = (await deps.images()).manifest;
  return jsonResponse(200, { status: "ok", model: { name, version, sha256 } });
}

/** The loaded model, as the OpenAPI document describes it (its explanation's scale included), or undefined. */
async function loadedModel(deps: AppDependencies) {
  return deps.images().then((images) => ({ ...modelOf(images), explanation: images.manifest.explanation }), () => undefined);
}

async function metrics(_request: CoreRequest, { deps }: RouteContext): Promise<CoreResponse> {
  if (!deps.metrics) throw new NotFoundError("This host keeps no metrics.");
  const { contentType, body } = await deps.metrics();
  return { statusCode: 200, headers: { "content-type": contentType }, body };
}

async function openApi(_request: CoreRequest, { deps, host }: RouteContext): Promise<CoreResponse> {
  return jsonResponse(200, openApiDocument(await loadedModel(deps), host));
}

const page: Route = () => webPageResponse("page");
const docs: Route = () => webPageResponse("docs");

/** A file the page or Swagger UI loads, named by the path's last segment. */
async function webFile(request: CoreRequest): Promise<CoreResponse> {
  const name = request.path.slice(request.path.lastIndexOf("/") + 1);
  const response = webFileResponse(name);
  if (!response) throw new NotFoundError(`No file ${name.slice(0, 80)} here; the page at / and /docs load the files they need.`);
  return response;
}

const ROUTE_HANDLERS: Record<RouteName, Route> = { classify, classifyBatch, health, metrics, openApi, docs, page, webFile };

/** A route a host serves: its name, for the outcome, and its handler. */
interface ServedRoute {
  name: RouteName;
  handle: Route;
}

/** The routes a host serves, by path then method. */
function routeIndex(host: ApiHost): Readonly<Record<string, Readonly<Record<string, ServedRoute>>>> {
  const index: Record<string, Record<string, ServedRoute>> = {};
  for (const [name, route] of Object.entries(host.routes)) {
    (index[route.path] ??= {})[route.method] = { name: name as RouteName, handle: ROUTE_HANDLERS[name as RouteName] };
  }
  return index;
}

/** Paths the batching server serves, which other hosts point to. */
const BATCHING_SERVER_PATHS: ReadonlySet<string> = new Set(Object.values(SERVER_ROUTES).map((route) => route.path));

function findRoute(index: ReturnType<typeof routeIndex>, host: ApiHost, request: CoreRequest): ServedRoute {
  const path = Object.hasOwn(index, request.path) ? request.path : templatedPath(request.path);
  const methods = Object.hasOwn(index, path) ? index[path]! : undefined;
  if (!methods) {
    if (host.batchingServer && BATCHING_SERVER_PATHS.has(request.path)) {
      throw new NotFoundError(`${request.path} is served by the batching server only; use ${host.batchingServer(request.path)}.`);
    }
    throw new NotFoundError(`No route ${request.path}; see /docs for the API.`);
  }
  const route = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
  if (!route) {
    const allowed = Object.keys(methods);
    throw new MethodNotAllowedError(`${request.path} takes ${allowed.join(", ")}, not ${request.method}.`, allowed);
  }
  return route;
}

/** Tells the observer, if any; metrics that fail must not cost the client its answer. */
function report(observe: RequestObserver | undefined, outcome: RequestOutcome): void {
  try {
    observe?.(outcome);
  } catch (error) {
    logger.error("request observer failed", { error: error as Error });
  }
}

/**
 * Builds the host-free core: routing, classification and the mapping of every error to its JSON answer, for
 * one of the API_HOSTS (its routes, body limit, and where it sends clients for what it does not serve). Each
 * request's outcome goes to deps.observe; once the model is loaded, every log line names it.
 */
export function createApp(deps: AppDependencies, host: ApiHost): App {
  const index = routeIndex(host);
  // A process serves one model: the first one loaded is the one every later outcome and log line names.
  let model: ModelRef | undefined;
  const images = async () => {
    const classifier = await deps.images();
    if (!model) {
      model = modelOf(classifier);
      logger.appendPersistentKeys({ model });
    }
    return classifier;
  };
  const routeDeps = { ...deps, images };
  return async (request) => {
    const started = performance.now();
    const record: OutcomeRecord = { images: [] };
    let route: RouteName | undefined;
    let response: CoreResponse;
    let error: ApiError | undefined;
    try {
      const served = findRoute(index, host, request);
      route = served.name;
      response = await served.handle(request, { deps: routeDeps, host, record });
    } catch (thrown) {
      error = toApiError(thrown);
      const details = { status: error.status, code: error.code, path: request.path, durationMs: millis(started) };
      // Only the unexpected is an ERROR here: a model that cannot load is logged where it fails to load.
      if (error instanceof InternalError) logger.error("request failed", { ...details, error: thrown as Error });
      else logger.warn("request refused", { ...details, reason: error.message });
      response = error.toResponse();
    }
    report(deps.observe, {
      route,
      status: response.statusCode,
      error: error && { status: error.status, code: error.code },
      model,
      images: record.images,
      timingsMs: { parse: record.parseMs, total: millis(started) },
    });
    return response;
  };
}
