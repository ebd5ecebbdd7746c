/**
 * The API's routes, shared by the core's router and the CDK stack, so what is deployed is what is served.
 * `public` routes need no API key or IAM signature: a browser opens the page, /docs and their files without
 * one, and a load balancer polls /health.
 */
export const API_ROUTES = {
  classify: { path: "/pneumonia_classifier", method: "POST", public: false },
  health: { path: "/health", method: "GET", public: true },
  openApi: { path: "/openapi.json", method: "GET", public: true },
  docs: { path: "/docs", method: "GET", public: true },
  page: { path: "/", method: "GET", public: true },
  webFile: { path: "/web/{file}", method: "GET", public: true },
} as const;

/**
 * The batching server's routes (lambda/serve-gpu.ts): the API's, a batch route for many X-rays a request,
 * and Prometheus metrics. The GPU service is reached through the load balancer and API Gateway's /gpu proxy.
 */
export const SERVER_ROUTES = {
  ...API_ROUTES,
  classifyBatch: { path: "/pneumonia_classifier/batch", method: "POST", public: false },
  metrics: { path: "/metrics", method: "GET", public: true },
} as const;

export type RouteName = keyof typeof SERVER_ROUTES;

/**
 * What a browser opens without a key: the page, Swagger UI, their files and the document Swagger UI reads. The
 * stack makes them public under /gpu/ too, where everything else of the batching server takes the key.
 */
export const WEB_ROUTE_NAMES = ["page", "docs", "openApi", "webFile"] as const satisfies readonly RouteName[];

/** A table of routes the router serves, by name. */
export type RouteTable = Partial<Record<RouteName, { readonly path: string; readonly method: string; readonly public: boolean }>>;

/**
 * The route path a request path falls under when no route has it exactly: its last segment taken as the
 * `{file}` parameter (/web/app.js under /web/{file}). The only parameter any route has.
 */
export function templatedPath(path: string): string {
  return path.replace(/\/[^/]+$/, "/{file}");
}
