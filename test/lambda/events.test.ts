import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { handler } from "../../lambda/handler.js";
import { PLATFORM_LIMITS } from "../../lambda/core/limits.js";
import { lambdaContext } from "../../tools/support/api-gateway-events.js";
import { SAMPLE_XRAY } from "../../events/sample-events.js";
import { ROOT, runEntry } from "../support/run-command.js";

const EVENTS_DIR = join(ROOT, "events");
const names = (await readdir(EVENTS_DIR)).filter((name) => name.endsWith(".json"));

describe("sample events in events/", () => {
  const scratch: string[] = [];
  afterAll(async () => {
    for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  });

  it("has a REST and an HTTP API event for classification", () => {
    expect(names).toEqual(expect.arrayContaining(["rest-api-classify.json", "http-api-classify.json"]));
  });

  it.each(names.filter((name) => name.includes("classify")))("classifies the X-ray in %s as its label, by a clear margin", async (name) => {
    // Prepare
    const bytes = await readFile(join(EVENTS_DIR, name));
    const event = JSON.parse(bytes.toString("utf8"));
    // Act
    const result = await handler(event, lambdaContext);
    // Assess: a sam local invoke user's first answer is a right one, and the event fits Lambda's invoke limit
    expect(bytes.length).toBeLessThan(PLATFORM_LIMITS.lambdaInvokePayloadBytes);
    expect(typeof result !== "string" && result.statusCode).toBe(200);
    const body = JSON.parse(typeof result === "string" ? result : result.body!);
    expect(body.prediction).toBe(SAMPLE_XRAY.label);
    expect(body.probability).toBeGreaterThan(0.9);
  });

  it.each(names.filter((name) => name.includes("health")))("answers %s with 200 ok", async (name) => {
    // Prepare
    const event = JSON.parse(await readFile(join(EVENTS_DIR, name), "utf8"));
    // Act
    const result = await handler(event, lambdaContext);
    // Assess
    expect(typeof result !== "string" && result.statusCode).toBe(200);
    expect(JSON.parse(typeof result === "string" ? result : result.body!).status).toBe("ok");
  });

  it("regenerates the checked-in events byte for byte, run after run", async () => {
    // Prepare
    const outs = [await mkdtemp(join(tmpdir(), "events-")), await mkdtemp(join(tmpdir(), "events-"))];
    scratch.push(...outs);
    // Act
    for (const out of outs) expect((await runEntry("events/generate.ts", ["--out", out])).code).toBe(0);
    // Assess
    for (const out of outs) {
      expect((await readdir(out)).sort()).toEqual([...names].sort());
      for (const name of names) expect((await readFile(join(out, name))).equals(await readFile(join(EVENTS_DIR, name))), `${out}/${name}`).toBe(true);
    }
  });
});
