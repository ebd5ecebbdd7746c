/**
 * How `npm start` and `npm run start:gpu` start when something is wrong around them: a port in use, a model
 * that cannot load. Each runs as its npm script does.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, SERVING_LINES, startServer } from "../../tools/support/server-process.js";
import { anyXray, imageForm } from "../../tools/support/forms.js";
import { defaultModelDir } from "../../lambda/core/model/manifest.js";
import { MODEL_LOAD_FAILURES } from "../../lambda/core/model/model-load-error.js";

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

/** Model folders that cannot be loaded, made once for every host. */
let scratch: string;
const WRONG_MODELS = {
  /** MODEL_DIR names a folder that does not exist. */
  missing: () => join(scratch, "no-such-model"),
  /** The model file is not the one the manifest's sha256 records. */
  tampered: () => join(scratch, "tampered"),
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pneumonia-wrong-models-"));
  const tampered = WRONG_MODELS.tampered();
  const manifest = JSON.parse(await readFile(join(defaultModelDir(), "manifest.json"), "utf8"));
  await mkdir(tampered);
  await copyFile(join(defaultModelDir(), manifest.file), join(tampered, manifest.file));
  await writeFile(join(tampered, "manifest.json"), JSON.stringify({ ...manifest, sha256: "0".repeat(64) }));
});

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

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

  it.each([
    ["a MODEL_DIR that does not exist", "missing", MODEL_LOAD_FAILURES.manifestMissing],
    ["a model file whose sha256 is not the manifest's", "tampered", MODEL_LOAD_FAILURES.checksumMismatch],
  ] as const)("keeps serving with %s: 503 MODEL_UNAVAILABLE saying why, on classify and /health, logged once at ERROR", async (_case, model, reason) => {
    // Prepare
    const server = await startServer(entry, { MODEL_DIR: WRONG_MODELS[model]() }, { keepLogs: true, until: SERVING_LINES.cannotClassify });
    try {
      const { body, contentType } = await imageForm(await anyXray());
      const classify = () => fetch(`${server.url}/pneumonia_classifier`, { method: "POST", body, headers: { "content-type": contentType } });
      // Act
      const answers = [await classify(), await classify(), await fetch(`${server.url}/health`)];
      // Assess
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        const { error } = (await answer.json()) as { error: { code: string; message: string } };
        expect(error.code).toBe("MODEL_UNAVAILABLE");
        expect(error.message).toContain(`(${reason})`);
        expect(error.message).not.toContain(scratch);
      }
      const errors = server
        .logs()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line))
        .filter((log) => log.level === "ERROR");
      expect(errors).toEqual([expect.objectContaining({ message: "model failed to load", reason })]);
      expect(server.process.exitCode).toBeNull();
    } finally {
      await server.stop();
    }
  });
});
