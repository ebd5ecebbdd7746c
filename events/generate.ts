/**
 * Writes the sample API Gateway events in this folder, each carrying a real X-ray as a base64
 * multipart body, for `sam local invoke -e events/<file>.json` and for the handler tests.
 *
 *   npx tsx events/generate.ts
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { anyXray, imageForm } from "../tools/support/forms.js";
import { httpApiEvent, restApiEvent } from "../tools/support/api-gateway-events.js";

const { body, contentType } = await imageForm(await anyXray(), "xray.jpeg");
const classify = { body, headers: { "Content-Type": contentType, Host: "localhost" } };
const health = { method: "GET", path: "/health", headers: { Host: "localhost" } };

const events = {
  "rest-api-classify.json": restApiEvent(classify),
  "http-api-classify.json": httpApiEvent(classify),
  "rest-api-health.json": restApiEvent(health),
  "http-api-health.json": httpApiEvent(health),
};
for (const [name, event] of Object.entries(events)) {
  await writeFile(join(import.meta.dirname, name), JSON.stringify(event, null, 2) + "\n");
}
console.log(`wrote ${Object.keys(events).join(", ")}`);
