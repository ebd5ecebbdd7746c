import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { FIXTURES, xrayFixtures } from "../../tools/support/forms.js";
import { defaultModelDir, readManifest } from "../../lambda/core/model/manifest.js";

/** A JSON answer as the tests read it; its shape is what the assertions check. */
type Json = any;

/**
 * One image of each kind the gate must refuse: stand-ins for the three (a colour photo as JPEG, a
 * screenshot and a logo as PNG), then a document, a synthetic image, another modality and a chest X-ray
 * turned sideways. (The batch route's per-file refusal is in batching-server.test.ts.)
 */
const REFUSED = [
  "ood/photos/rocket.jpeg",
  "ood/screenshots/screenshot-news.png",
  "ood/logos/scikit-image-logo.png",
  "ood/documents/scanned-page.png",
  "ood/synthetic/noise-colour.png",
  "ood/medical/pydicom-CT_small.png",
  "ood/transformed/rotated-90/IM-0199-0001.jpeg",
].map((path) => join(FIXTURES, path));

const typeOf = (path: string) => (path.endsWith(".png") ? "image/png" : "image/jpeg");

function form(paths: string[], files: Buffer[]): FormData {
  const body = new FormData();
  paths.forEach((path, i) => body.append("file", new Blob([files[i]!], { type: typeOf(path) }), basename(path)));
  return body;
}

async function post(url: string, paths: string[]) {
  const files = await Promise.all(paths.map((path) => readFile(path)));
  const response = await fetch(url, { method: "POST", body: form(paths, files) });
  return { status: response.status, json: (await response.json()) as Json };
}

describe.each([
  ["npm start (the Lambda handler)", SERVER_ENTRIES.local],
  ["npm run start:gpu (the batching server)", SERVER_ENTRIES.batching],
])("the out-of-distribution gate through %s", (_host, entry) => {
  let server: LocalApiProcess;
  let threshold: number;
  beforeAll(async () => {
    server = await startServer(entry);
    threshold = (await readManifest(defaultModelDir())).gate!.threshold;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("classifies every full-resolution chest X-ray fixture with the answer's usual fields only", async () => {
    // Prepare
    const fixtures = await xrayFixtures();
    // Act
    const answers = [];
    for (const fixture of fixtures) answers.push(await post(`${server.url}/pneumonia_classifier`, [fixture.path]));
    // Assess
    for (const { status, json } of answers) {
      expect(status).toBe(200);
      expect(Object.keys(json).sort()).toEqual(["model", "prediction", "probabilities", "probability", "timingsMs"]);
    }
  });

  it.each(REFUSED.map((path) => [path.slice(FIXTURES.length + 1), path]))("refuses %s with 422 NOT_A_CHEST_XRAY, its score and the threshold", async (_name, path) => {
    // Act
    const { status, json } = await post(`${server.url}/pneumonia_classifier`, [path]);
    // Assess
    expect(status).toBe(422);
    expect(json.error.code).toBe("NOT_A_CHEST_XRAY");
    expect(json.error.threshold).toBe(threshold);
    expect(json.error.score).toBeGreaterThan(threshold);
    expect(json.error.message).toContain("does not look like a frontal chest X-ray of a child");
  });

});
