import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { handler } from "../../lambda/handler.js";
import { lambdaContext } from "../../tools/support/api-gateway-events.js";

const EVENTS_DIR = join(import.meta.dirname, "..", "..", "events");
const names = (await readdir(EVENTS_DIR)).filter((name) => name.endsWith(".json"));

describe("sample events in events/", () => {
  it("has a REST and an HTTP API event for classification", () => {
    expect(names).toEqual(expect.arrayContaining(["rest-api-classify.json", "http-api-classify.json"]));
  });

  it.each(names)("answers %s with 200 from the handler", async (name) => {
    // Prepare
    const event = JSON.parse(await readFile(join(EVENTS_DIR, name), "utf8"));
    // Act
    const result = await handler(event, lambdaContext);
    // Assess
    expect(typeof result !== "string" && result.statusCode).toBe(200);
    const body = JSON.parse(typeof result === "string" ? result : result.body!);
    expect(name.includes("classify") ? body.prediction : body.status).toMatch(/^(NORMAL|PNEUMONIA|ok)$/);
  });
});
