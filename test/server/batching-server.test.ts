import { describe, expect, it } from "vitest";
import { startBatchingServer } from "../../lambda/server/batching-server.js";
import { serverConfigFromEnv } from "../../lambda/server/server-config.js";
import { anyXray } from "../../tools/support/forms.js";

const WORKERS = {
  preprocess: new URL("../../lambda/preprocess-worker.ts", import.meta.url),
  inference: new URL("../../lambda/inference-worker.ts", import.meta.url),
};

describe("startBatchingServer", () => {
  it("answers /health with 503 and Retry-After until the model is loaded and warm, then 200", async () => {
    // Prepare
    const form = new FormData();
    form.append("file", new Blob([await anyXray()], { type: "image/jpeg" }), "xray.jpeg");
    const server = await startBatchingServer(serverConfigFromEnv({ PORT: "0", PREPROCESS_THREADS: "1" }), WORKERS);
    try {
      // Act
      const starting = await fetch(`${server.url}/health`);
      const classifyWhileStarting = await fetch(`${server.url}/pneumonia_classifier`, { method: "POST", body: form });
      await server.ready;
      const ready = await fetch(`${server.url}/health`);
      // Assess
      expect(starting.status).toBe(503);
      expect(starting.headers.get("retry-after")).toBe("5");
      expect(((await starting.json()) as { error: { code: string } }).error.code).toBe("MODEL_UNAVAILABLE");
      expect(classifyWhileStarting.status).toBe(503);
      expect(ready.status).toBe(200);
    } finally {
      await server.shutdown();
    }
  });
});
