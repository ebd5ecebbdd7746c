/**
 * The API's routes, shared by the core's router and the CDK stack, so what is deployed is what is served.
 * `public` routes need no API key or IAM signature: a browser opens /docs and a load balancer polls /health.
 */
export const API_ROUTES = {
  classify: { path: "/pneumonia_classifier", method: "POST", public: false },
  health: { path: "/health", method: "GET", public: true },
  openApi: { path: "/openapi.json", method: "GET", public: true },
  docs: { path: "/docs", method: "GET", public: true },
} as const;

export type RouteName = keyof typeof API_ROUTES;
