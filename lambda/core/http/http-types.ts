/** A request as the host-free core sees it; adapters build it from whatever their host delivers. */
export interface CoreRequest {
  method: string;
  /** Path without stage prefix or query string, e.g. "/pneumonia_classifier". */
  path: string;
  /** Header names lower-cased; one value per name. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Raw body bytes, already base64-decoded. */
  body: Buffer;
}

/** A response as the core answers it; adapters turn it into their host's shape. */
export interface CoreResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
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
