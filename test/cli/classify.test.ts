import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import png from "@jimp/js-png";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApi, type LocalApiProcess } from "../../tools/support/server-process.js";
import { FIXTURES } from "../../tools/support/forms.js";
import { runEntry } from "../support/run-command.js";
import { decodeImage } from "../../lambda/core/model/preprocess.js";
import { readImageHeader } from "../../lambda/core/model/image-header.js";
import { defaultModelDir, readManifest } from "../../lambda/core/model/manifest.js";

const SPEC = (await readManifest(defaultModelDir())).input.preprocessing;

const XRAYS = `${FIXTURES}/xrays`;

/** Runs the CLI as `npx pneumonia-classify` would, with JSON lines out, collecting its rows and exit code. */
async function classify(args: string[]): Promise<{ code: number | null; rows: Record<string, string>[]; stderr: string }> {
  const { code, stdout, stderr } = await runEntry("bin/classify.ts", ["--format", "jsonl", ...args]);
  return { code, rows: stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)), stderr };
}

/** A route that is always throttled, as API Gateway answers when a method's usage-plan limit is hit. */
function throttledRoute(): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((request, response) => {
    hits++;
    request.resume();
    request.on("end", () => {
      response.writeHead(429, { "content-type": "application/json", "retry-after": "0" });
      response.end('{"message":"Too Many Requests"}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits })),
  );
}

describe("pneumonia-classify", () => {
  let api: LocalApiProcess;
  beforeAll(async () => {
    api = await startLocalApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("classifies a folder, one row per image, and exits 0", async () => {
    // Act
    const { code, rows } = await classify(["--url", api.url, XRAYS]);
    // Assess
    expect(code).toBe(0);
    expect(rows).toHaveLength(10);
    for (const row of rows) {
      expect(row).toMatchObject({ route: "primary", status: 200, prediction: expect.stringMatching(/^(NORMAL|PNEUMONIA)$/) });
    }
  });

  it("writes one overlay PNG per input with --explain: the X-ray in colour where the model looked", async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), "pneumonia-explain-"));
    try {
      // Act
      const { code, rows } = await classify(["--url", api.url, "--explain", join(folder, "overlays"), `${XRAYS}/PNEUMONIA`]);
      // Assess
      expect(code).toBe(0);
      expect(rows).toHaveLength(5);
      for (const { file, overlay: path } of rows) {
        expect(path).toBe(join(folder, "overlays", `${basename(file!, ".jpeg")}.png`));
        const overlay = png().decode(await readFile(path!), {});
        const xray = await readFile(file!);
        const { bitmap } = await decodeImage(xray, readImageHeader(xray), SPEC);
        expect([overlay.width, overlay.height]).toEqual([bitmap.width, bitmap.height]);
        // Colour where the map is hot: the X-ray alone is grey (R = G = B) everywhere.
        const coloured = Array.from({ length: overlay.width * overlay.height }, (_, i) => i * 4).filter((at) => overlay.data[at] !== overlay.data[at + 2]);
        expect(coloured.length).toBeGreaterThan(0);
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("sends each image to the fallback URL at the first 429 and finishes there", async () => {
    // Prepare
    const throttled = await throttledRoute();
    try {
      // Act
      const { code, rows } = await classify(["--url", throttled.url, "--fallback-url", api.url, "--attempts", "2", `${XRAYS}/NORMAL`]);
      // Assess
      expect(code).toBe(0);
      expect(rows.map((row) => row.route)).toEqual(Array(5).fill("fallback"));
      expect(throttled.hits()).toBe(5);
    } finally {
      throttled.server.close();
    }
  });

  it("writes an error row for every image when the server is gone, and exits 1", async () => {
    // Prepare: a port that nothing listens on any more
    const throttled = await throttledRoute();
    await new Promise((resolve) => throttled.server.close(resolve));
    // Act
    const { code, rows } = await classify(["--url", throttled.url, "--attempts", "1", `${XRAYS}/PNEUMONIA`]);
    // Assess
    expect(code).toBe(1);
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.error).toBeTruthy();
  });

});

// Each case is a process of its own that sends nothing: they can run side by side.
describe.concurrent("pneumonia-classify's command line", () => {
  it.each(["--help", "-h"])("prints its usage and every option for %s, and exits 0", async (flag) => {
    // Act
    const { code, stdout, stderr } = await runEntry("bin/classify.ts", [flag]);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: pneumonia-classify --url URL \[options\] FILE\|FOLDER\|GLOB\.\.\./);
    for (const option of ["--url", "--fallback-url", "--api-key", "--concurrency", "--format", "--output", "--attempts", "--timeout-ms"]) expect(stdout).toContain(option);
    expect(stderr).toBe("");
  });

  // A URL on a port nothing listens on: had any request gone out, the rows would say ECONNREFUSED.
  const url = "http://127.0.0.1:9";
  it.each([
    { what: "an unknown option", args: ["--bogus", "--url", url, XRAYS], problem: "unknown option --bogus" },
    { what: "no --url", args: [XRAYS], problem: "--url is required" },
    { what: "a --url that is no URL", args: ["--url", "notaurl", XRAYS], problem: '--url must be an http or https URL, not "notaurl"' },
    { what: "a --fallback-url without its scheme", args: ["--url", url, "--fallback-url", "127.0.0.1:3000", XRAYS], problem: '--fallback-url must be an http or https URL, not "127.0.0.1:3000"' },
    { what: "--concurrency 0", args: ["--url", url, "--concurrency", "0", XRAYS], problem: '--concurrency must be a whole number from 1 to 256, not "0"' },
    { what: "a --concurrency in words", args: ["--url", url, "--concurrency", "four", XRAYS], problem: '--concurrency must be a whole number from 1 to 256, not "four"' },
    { what: "an unknown --format", args: ["--url", url, "--format", "xml", XRAYS], problem: '--format must be one of csv, jsonl, not "xml"' },
    { what: "--attempts 0", args: ["--url", url, "--attempts", "0", XRAYS], problem: '--attempts must be a whole number from 1 to 100, not "0"' },
    { what: "no input", args: ["--url", url], problem: "name at least one file, folder or glob" },
    { what: "a glob that matches nothing", args: ["--url", url, "no-such-folder/*.jpeg"], problem: "no file matches no-such-folder/*.jpeg" },
  ])("refuses $what with one line saying so, the usage line and exit code 2, before any request", async ({ args, problem }) => {
    // Act
    const { code, stdout, stderr } = await runEntry("bin/classify.ts", args);
    // Assess
    expect(code).toBe(2);
    expect(stderr.split("\n")).toEqual([problem, "usage: pneumonia-classify --url URL [options] FILE|FOLDER|GLOB...  (--help for every option)", ""]);
    expect(stdout).toBe("");
  });
});
