import { readFile } from "node:fs/promises";
// Aliased: the bundle's banner (npm run build) declares createRequire at the top of the same file.
import { createRequire as requireFrom } from "node:module";
import type { CoreResponse } from "../http/http-types.js";

/**
 * The Content-Security-Policy of the page, /docs and their files: scripts, styles and requests from this origin
 * only, no inline script or style element, images from here or made by the page itself (object URLs of the
 * X-rays picked, data: URLs of the heatmaps and of Swagger UI's icons), no framing, no form posted anywhere.
 */
export const WEB_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const CONTENT_TYPES = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
} as const;

/** Where a file is read from: the page's own folder, or the swagger-ui-dist package (served as published). */
type Source = "page" | "swagger-ui-dist";

/** A file the core serves: where it is read from, and its type. */
interface WebFile {
  readonly source: Source;
  readonly type: keyof typeof CONTENT_TYPES;
}

/** The two pages: the app at / and Swagger UI at /docs, by route name. */
export const WEB_PAGES = { page: "index.html", docs: "docs.html" } as const;

/**
 * The files the pages load from /web/{file}, and nothing else: of swagger-ui-dist, the bundle and its
 * stylesheet (1.9 MB; no source maps, no standalone preset, no ES-module builds).
 */
export const WEB_FILES: Readonly<Record<string, WebFile>> = {
  "app.js": { source: "page", type: "js" },
  "app.css": { source: "page", type: "css" },
  "api-key.js": { source: "page", type: "js" },
  "card.js": { source: "page", type: "js" },
  "classify-file.js": { source: "page", type: "js" },
  "heatmap.js": { source: "page", type: "js" },
  "results-csv.js": { source: "page", type: "js" },
  "docs.js": { source: "page", type: "js" },
  "docs.css": { source: "page", type: "css" },
  "swagger-ui-bundle.js": { source: "swagger-ui-dist", type: "js" },
  "swagger-ui.css": { source: "swagger-ui-dist", type: "css" },
};

// The page's files sit in assets/ beside this module, and beside the bundle once npm run build copies them
// there; Swagger UI's are resolved in the package, which the container images copy only these files of.
const packageRequire = requireFrom(import.meta.url);
const LOCATE: Record<Source, (name: string) => string | URL> = {
  page: (name) => new URL(`./assets/${name}`, import.meta.url),
  "swagger-ui-dist": (name) => packageRequire.resolve(`swagger-ui-dist/${name}`),
};

/** Headers of every page and file: the policy above, no type sniffing, no referrer sent on. */
const SECURITY_HEADERS = {
  "content-security-policy": WEB_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

// Read on first request, not at start, so a cold start that serves only the API does not pay for them.
const cache = new Map<string, Promise<string>>();

async function serve(name: string, file: WebFile): Promise<CoreResponse> {
  const key = `${file.source}/${name}`;
  let body = cache.get(key);
  if (!body) {
    body = readFile(LOCATE[file.source](name), "utf8");
    cache.set(key, body);
    // A failed read is not kept: the next request tries again.
    body.catch(() => cache.delete(key));
  }
  return {
    statusCode: 200,
    headers: {
      "content-type": CONTENT_TYPES[file.type],
      // Pages are revalidated on every load; the files they load may be kept five minutes, so a page opened
      // during a deploy may meet the previous version's files that long.
      "cache-control": file.type === "html" ? "no-cache" : "public, max-age=300",
      ...SECURITY_HEADERS,
    },
    body: await body,
  };
}

/** The answer of one of the two pages. */
export function webPageResponse(route: keyof typeof WEB_PAGES): Promise<CoreResponse> {
  return serve(WEB_PAGES[route], { source: "page", type: "html" });
}

/** The answer of one of WEB_FILES, by name; undefined for any other name. */
export function webFileResponse(name: string): Promise<CoreResponse> | undefined {
  return Object.hasOwn(WEB_FILES, name) ? serve(name, WEB_FILES[name]!) : undefined;
}
