/**
 * Writes the sample API Gateway events (events/sample-events.ts), each classify event carrying a real X-ray
 * as a base64 multipart body, for `sam local invoke -e events/<file>.json` and for the handler tests. The
 * same code writes the same bytes: test/lambda/events.test.ts checks the files here against it.
 *
 *   npx tsx events/generate.ts [--out DIR]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { sampleEvents } from "./sample-events.js";

const { values } = parseCommandLine({
  command: "npx tsx events/generate.ts",
  summary: "Writes the sample API Gateway events (REST and HTTP API; classify and health) as JSON files.",
  options: { out: { type: "string", value: "DIR", default: import.meta.dirname, doc: "the folder to write them to" } },
});

const events = await sampleEvents();
await mkdir(values.out, { recursive: true });
for (const [name, event] of Object.entries(events)) {
  await writeFile(join(values.out, name), JSON.stringify(event, null, 2) + "\n");
}
console.log(`wrote ${Object.keys(events).join(", ")} to ${values.out}`);
