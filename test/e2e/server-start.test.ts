/**
 * How `npm start` and `npm run start:gpu` start when something is wrong around them: a port in use, a model
 * that cannot load. Each runs as its npm script does.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { SERVER_ENTRIES } from "../../tools/support/server-process.js";

const HOSTS = [
  ["npm start", SERVER_ENTRIES.local],
  ["npm run start:gpu", SERVER_ENTRIES.batching],
] as const;

/** Runs an entry point to its exit, with its output. */
async function runToExit(entry: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", entry], { env: { ...process.env, POWERTOOLS_LOG_LEVEL: "WARN", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe.each(HOSTS)("%s", (_name, entry) => {
  it("exits 1 on a port in use, with one line naming the port and how to pick another", async () => {
    // Prepare
    const occupant = createServer().listen(0, "127.0.0.1");
    await once(occupant, "listening");
    const port = (occupant.address() as { port: number }).port;
    try {
      // Act
      const { code, stderr } = await runToExit(entry, { PORT: String(port), HOST: "127.0.0.1" });
      // Assess
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is in use.*PORT=`))]);
    } finally {
      occupant.close();
    }
  });
});
