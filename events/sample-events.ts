import { basename, join } from "node:path";
import { readFile } from "node:fs/promises";
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";
import { FIXTURES, imageForm, withBoundary } from "../tools/support/forms.js";
import { httpApiEvent, restApiEvent } from "../tools/support/api-gateway-events.js";

/**
 * The X-ray the classify events carry, with its label: one the model gets right by a wide margin
 * (PNEUMONIA 0.991 with model 1.1.0), so the first answer a `sam local invoke` user sees is a right one.
 */
export const SAMPLE_XRAY = {
  path: join(FIXTURES, "xrays", "PNEUMONIA", "person1184_bacteria_3132.jpeg"),
  label: "PNEUMONIA",
} as const;

/** Fixed rather than drawn, so regenerating the events rewrites the same bytes. */
const BOUNDARY = "----pneumonia-classifier-sample-event";

/** The sample events by file name: REST (payload 1.0) and HTTP API (payload 2.0), classify and health. */
export async function sampleEvents(): Promise<Record<string, APIGatewayProxyEvent | APIGatewayProxyEventV2>> {
  const { body, contentType } = withBoundary(await imageForm(await readFile(SAMPLE_XRAY.path), basename(SAMPLE_XRAY.path)), BOUNDARY);
  const classify = { body, headers: { "Content-Type": contentType, Host: "localhost" } };
  const health = { method: "GET", path: "/health", headers: { Host: "localhost" } };
  return {
    "rest-api-classify.json": restApiEvent(classify),
    "http-api-classify.json": httpApiEvent(classify),
    "rest-api-health.json": restApiEvent(health),
    "http-api-health.json": httpApiEvent(health),
  };
}
