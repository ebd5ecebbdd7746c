/** A request as the host-free core sees it; adapters build it from whatever their host delivers. */
export interface CoreRequest {
  method: string;
  /** Path without stage prefix or query string, e.g. "/pneumonia_classifier". */
  path: string;
  /** Header names lower-cased; one value per name (see headerMap). */
  headers: Readonly<Record<string, string | undefined>>;
  /** Raw body bytes, already base64-decoded. */
  body: Buffer;
  /** The query string's parameters, every value of a repeated one kept in order. @default - none */
  query?: URLSearchParams;
}

/** A response as the core answers it; adapters turn it into their host's shape. */
export interface CoreResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Request headers as the core reads them, from every (name, value) line the client sent: names lower-cased,
 * and a repeated header's values joined with ", " in order, which is how RFC 9110 combines field lines (and
 * what API Gateway's HTTP APIs do). Every adapter builds its headers with this, so a repeated
 * Content-Encoding means the same on every host.
 */
export function headerMap(lines: Iterable<readonly [string, string]>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    headers[key] = Object.hasOwn(headers, key) ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

/** JSON answer with the content type set. */
export function jsonResponse(statusCode: number, value: unknown, headers: Record<string, string> = {}): CoreResponse {
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(value) };
}

/**
 * Content types API Gateway must pass through as binary (base64 in the event), so uploads arrive
 * byte for byte. The REST API's binaryMediaTypes and the local front both use this list.
 */
export const BINARY_MEDIA_TYPES = ["multipart/form-data", "image/jpeg", "image/png", "application/octet-stream"] as const;
