/**
 * The route tables at their former path, which lib/ (the CDK stack) and its tests import. They now live in
 * lambda/core/http/routes.ts; this file goes once lib/ imports from there.
 */
export * from "./http/routes.js";
