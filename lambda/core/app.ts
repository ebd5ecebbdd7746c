import { FORM_LIMITS } from "./limits.js";
import { ERROR_CODES, PayloadTooLargeError, RouteError, UnsupportedMediaTypeError, toClassifierError } from "./errors.js";
import { jsonResponse, type CoreRequest, type CoreResponse } from "./http-types.js";
import { parseImageUpload } from "./multipart.js";
import { preprocessImage } from "./preprocess.js";
import { openApiDocument } from "./openapi.js";
import { renderDocsPage } from "./docs-page.js";
import { logger } from "./logger.js";
import type { Classifier } from "./classifier.js";
import { API_ROUTES, type RouteName } from "./routes.js";

/** What the core needs from its host. */
export interface AppDependencies {
  /** The process's classifier; rejects with a ClassifierError (503) when the model cannot be loaded. */
  classifier: () => Promise<Classifier>;
}

/** Handles one request; never throws, every failure becomes a JSON error answer. */
export type App = (request: CoreRequest) => Promise<CoreResponse>;

type Route = (request: CoreRequest, deps: AppDependencies) => Promise<CoreResponse>;

/** Milliseconds between two performance.now() readings, to 0.01 ms. */
const millis = (from: number, to: number = performance.now()) => Math.round((to - from) * 100) / 100;

async function classify(request: CoreRequest, deps: AppDependencies): Promise<CoreResponse> {
  const started = performance.now();
  if (request.body.length > FORM_LIMITS.maxBodyBytes) {
    throw new PayloadTooLargeError(
      ERROR_CODES.payloadTooLarge,
      `The request body is over ${FORM_LIMITS.maxBodyBytes / 2 ** 20} MiB; send a smaller image.`,
    );
  }
  const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
  if (encoding && encoding !== "identity") {
    throw new UnsupportedMediaTypeError(`Content-Encoding "${encoding.slice(0, 40)}" is not accepted; send the form uncompressed (JPEG and PNG are compressed already).`);
  }
  const upload = await parseImageUpload(request.body, request.headers["content-type"]);
  const parsed = performance.now();
  const classifier = await deps.classifier();
  const loaded = performance.now();
  const { header, tensor } = await preprocessImage(upload.bytes, classifier.manifest.input.preprocessing);
  const preprocessed = performance.now();
  const result = await classifier.classify(tensor);
  const timingsMs = { parse: millis(started, parsed), preprocess: millis(loaded, preprocessed), inference: millis(preprocessed) };
  logger.info("classified", {
    outcome: result.prediction,
    probability: result.probability,
    image: { type: header.type, width: header.width, height: header.height, bytes: upload.bytes.length },
    timingsMs,
  });
  const { name, version } = classifier.manifest;
  return jsonResponse(200, { ...result, model: { name, version }, timingsMs });
}

async function health(_request: CoreRequest, deps: AppDependencies): Promise<CoreResponse> {
  const { name, version, sha256 } = (await deps.classifier()).manifest;
  return jsonResponse(200, { status: "ok", model: { name, version, sha256 } });
}

async function loadedModel(deps: AppDependencies) {
  return deps.classifier().then(
    ({ manifest }) => ({ name: manifest.name, version: manifest.version }),
    () => undefined,
  );
}

async function openApi(_request: CoreRequest, deps: AppDependencies): Promise<CoreResponse> {
  return jsonResponse(200, openApiDocument(await loadedModel(deps)));
}

async function docs(_request: CoreRequest, deps: AppDependencies): Promise<CoreResponse> {
  const body = renderDocsPage(openApiDocument(await loadedModel(deps)));
  return { statusCode: 200, headers: { "content-type": "text/html; charset=utf-8" }, body };
}

const ROUTE_HANDLERS: Record<RouteName, Route> = { classify, health, openApi, docs };

/** Every route of the API, by path then method, built from API_ROUTES, which the CDK stack deploys too. */
const ROUTES: Readonly<Record<string, Readonly<Record<string, Route>>>> = Object.fromEntries(
  Object.entries(API_ROUTES).map(([name, { path, method }]) => [path, { [method]: ROUTE_HANDLERS[name as RouteName] }]),
);

function findRoute(request: CoreRequest): Route {
  const methods = Object.hasOwn(ROUTES, request.path) ? ROUTES[request.path]! : undefined;
  if (!methods) {
    throw new RouteError(404, ERROR_CODES.notFound, `No route ${request.path}; see /docs for the API.`);
  }
  const route = Object.hasOwn(methods, request.method) ? methods[request.method] : undefined;
  if (!route) {
    throw new RouteError(405, ERROR_CODES.methodNotAllowed, `${request.path} takes ${Object.keys(methods).join(", ")}, not ${request.method}.`);
  }
  return route;
}

/** Builds the host-free core: routing, classification and the mapping of every error to its JSON answer. */
export function createApp(deps: AppDependencies): App {
  return async (request) => {
    const started = performance.now();
    try {
      return await findRoute(request)(request, deps);
    } catch (thrown) {
      const error = toClassifierError(thrown);
      const details = { status: error.status, code: error.code, path: request.path, durationMs: millis(started) };
      if (error.status >= 500) logger.error("request failed", { ...details, error: thrown as Error });
      else logger.warn("request refused", { ...details, reason: error.message });
      const headers: Record<string, string> =
        error.code === ERROR_CODES.methodNotAllowed ? { allow: Object.keys(ROUTES[request.path] ?? {}).join(", ") } : {};
      return jsonResponse(error.status, error.toBody(), headers);
    }
  };
}
