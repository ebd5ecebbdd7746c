import { ERROR_CODES, PayloadTooLargeError } from "../errors.js";
import { BATCH_LIMITS, FORM_LIMITS, PLATFORM_LIMITS, mib } from "../limits.js";
import { API_ROUTES, SERVER_ROUTES, type RouteTable } from "./routes.js";

/** What differs between the hosts that serve the API, and so what their answers and documents say. */
export interface ApiHost {
  /** Which host this is, as its logs and metrics name it (the `Host` dimension): a key of API_HOSTS. */
  readonly name: string;
  /** The routes served here. */
  readonly routes: RouteTable;
  /** Largest request body of the classify route, in bytes. */
  readonly maxBodyBytes: number;
  /** Why the limit is what it is, where that is not plain, for the 413 and the docs. */
  readonly maxBodyReason?: string;
  /**
   * How a client of this host reaches a path of the batching server, which serves the batch route, /metrics
   * and larger bodies: "/gpu/metrics on this API". Undefined on the batching server itself.
   */
  readonly batchingServer?: (path: string) => string;
}

const LAMBDA_BODY_REASON = `the most that fits Lambda's ${mib(PLATFORM_LIMITS.lambdaInvokePayloadBytes)} invoke limit once base64-encoded`;

/** The hosts of the API. */
export const API_HOSTS = {
  /** The Lambda function, behind API Gateway, whose /gpu/ routes go to the batching server. */
  lambda: {
    name: "lambda",
    routes: API_ROUTES,
    maxBodyBytes: FORM_LIMITS.maxLambdaBodyBytes,
    maxBodyReason: LAMBDA_BODY_REASON,
    batchingServer: (path) => `/gpu${path} on this API`,
  },
  /** The Lambda function of a deployment without the GPU service (`-c gpu=false`): nowhere else to send a client. */
  lambdaAlone: { name: "lambda", routes: API_ROUTES, maxBodyBytes: FORM_LIMITS.maxLambdaBodyBytes, maxBodyReason: LAMBDA_BODY_REASON },
  /** `npm start`: the Lambda handler behind the local front, which reproduces the Lambda route's limits. */
  local: {
    name: "local",
    routes: API_ROUTES,
    maxBodyBytes: FORM_LIMITS.maxLambdaBodyBytes,
    maxBodyReason: LAMBDA_BODY_REASON,
    batchingServer: (path) => `${path} on the batching server (npm run start:gpu)`,
  },
  /** The batching server: `npm run start:gpu`, the GPU service. */
  batching: { name: "batching", routes: SERVER_ROUTES, maxBodyBytes: FORM_LIMITS.maxBodyBytes },
} as const satisfies Record<string, ApiHost>;

/** The Lambda function's environment variable that says whether the API has /gpu/ routes ("false": it has not). */
export const GPU_ROUTE_ENV = "GPU_ROUTE";

/** The Lambda function's host: with the /gpu/ routes unless its environment says the deployment has none. */
export function lambdaHost(env: NodeJS.ProcessEnv): ApiHost {
  return env[GPU_ROUTE_ENV] === "false" ? API_HOSTS.lambdaAlone : API_HOSTS.lambda;
}

/**
 * The classify route's body limit on a host in words, for its 413 and its documents: the limit with its
 * reason ("4.49 MiB, the most that fits..."), and where larger bodies go, if anywhere.
 */
export function bodyLimitWords(host: ApiHost): { limit: string; largerBodies?: string } {
  const limit = `${mib(host.maxBodyBytes)}${host.maxBodyReason ? `, ${host.maxBodyReason}` : ""}`;
  if (!host.batchingServer) return { limit };
  return { limit, largerBodies: `${host.batchingServer(API_ROUTES.classify.path)}, which takes up to ${mib(FORM_LIMITS.maxBodyBytes)}` };
}

/** The 413 of a classify request whose body is over the host's limit: what to do about it on this host. */
export function bodyTooLargeError(host: ApiHost): PayloadTooLargeError {
  const { limit, largerBodies } = bodyLimitWords(host);
  const elsewhere = largerBodies ? `, or send it to ${largerBodies}` : "";
  return new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, `The request body is over ${limit}; send a smaller image${elsewhere}.`);
}

/** The 413 of a batch request whose body is over the batch route's limit. */
export function batchTooLargeError(): PayloadTooLargeError {
  return new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, `The request body is over ${mib(BATCH_LIMITS.maxBodyBytes)}; send fewer or smaller images.`);
}
