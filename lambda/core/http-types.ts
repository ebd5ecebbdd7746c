/**
 * BINARY_MEDIA_TYPES at its former path, which lib/ (the CDK stack) imports. The HTTP types now live in
 * lambda/core/http/http-types.ts; this file goes once lib/ imports from there.
 */
export { BINARY_MEDIA_TYPES } from "./http/http-types.js";
