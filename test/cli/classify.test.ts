import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalApi, type LocalApiProcess } from "../../tools/support/server-process.js";
import { FIXTURES } from "../../tools/support/forms.js";

const XRAYS = `${FIXTURES}/xrays`;

/** Runs the CLI as `npx pneumonia-classify` would, collecting its output and exit code. */
async function classify(args: string[]): Promise<{ code: number | null; rows: Record<string, string>[]; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bin/classify.ts", "--format", "jsonl", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
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

  it("refuses a missing --url with usage and exit code 2", async () => {
    const { code, stderr } = await classify([XRAYS]);
    expect(code).toBe(2);
    expect(stderr).toContain("usage: pneumonia-classify");
  });
});
