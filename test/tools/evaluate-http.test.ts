import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { runCommand, runEntry } from "../support/run-command.js";

/** Eight labelled X-rays, four a class: enough for every figure, in a second. */
const SAMPLE = "test/fixtures/chest_xray/sample";

/** A loopback port that was free a moment ago and that nothing listens on now. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("npm run evaluate", () => {
  let api: LocalApiProcess;
  let port: string;
  beforeAll(async () => {
    // `npm start` on a port of the OS's choosing, which is not the default 3000.
    api = await startServer(SERVER_ENTRIES.local);
    port = new URL(api.url).port;
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("finds npm start on the port PORT names, with no --url, and measures every image of the folder", async () => {
    // Act: no --card, so the model card is left alone
    const { code, stdout } = await runCommand("npm", ["run", "--silent", "evaluate", "--", "--data", SAMPLE], { PORT: port });
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain(`(http://127.0.0.1:${port})`);
    expect(stdout).toMatch(/^\| 8 \| [01]\.\d{3} \| [01]\.\d{3} \| [01]\.\d{3} \| [01]\.\d{3} \| 0\.\d{3} \|$/m);
  });

  it("says in one line which URL has no server and how to start one, and exits 1", async () => {
    // Prepare
    const port = await closedPort();
    // Act
    const { code, stdout, stderr } = await runEntry("tools/evaluate-http.ts", ["--data", SAMPLE], { PORT: String(port) });
    // Assess
    expect(code).toBe(1);
    expect(stderr.split("\n")).toEqual([
      `evaluate: no server answers at http://127.0.0.1:${port} (ECONNREFUSED): start it with \`npm start\` (it listens on PORT, 3000 when unset), or pass --url`,
      "",
    ]);
    expect(stdout).toBe("");
  });
});
