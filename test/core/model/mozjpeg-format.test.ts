import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { preprocessImage } from "../../../lambda/core/model/preprocess.js";
import { defaultModelDir, readManifest } from "../../../lambda/core/model/manifest.js";
import { FIXTURES, anyXray } from "../../../tools/support/forms.js";

const spec = (await readManifest(defaultModelDir())).input.preprocessing;

describe("MozJPEG decoder", () => {
  it("keeps decoding valid X-rays after 100 JPEGs that end libjpeg's program (found by npm run fuzz)", async () => {
    // Prepare
    const poison = await readFile(join(FIXTURES, "fuzz", "jpeg-breaks-decoder-instance.jpeg"));
    const xray = await anyXray();
    const expected = (await preprocessImage(xray, spec)).tensor;
    // Act
    const refusals = [];
    for (let i = 0; i < 100; i++) refusals.push(await preprocessImage(poison, spec).catch((error: { status: number }) => error.status));
    const after = await preprocessImage(xray, spec);
    // Assess
    expect(new Set(refusals)).toEqual(new Set([422]));
    expect(after.tensor).toEqual(expected);
  });

  it("answers a valid X-ray decoded at the same time as a poison JPEG", async () => {
    const poison = await readFile(join(FIXTURES, "fuzz", "jpeg-breaks-decoder-instance.jpeg"));
    const xray = await anyXray();
    const results = await Promise.allSettled([...Array(20)].flatMap(() => [preprocessImage(poison, spec), preprocessImage(xray, spec)]));
    expect(results.filter((_, i) => i % 2 === 1).every((r) => r.status === "fulfilled")).toBe(true);
  });
});
