import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { startWorkerThread } from "../../../lambda/core/worker-thread.js";
import { MODEL_LOAD_FAILURES, ModelLoadError, modelUnavailableError } from "../../../lambda/core/model/model-load-error.js";
import { ModelUnavailableError } from "../../../lambda/core/errors.js";

describe("ModelLoadError", () => {
  it("revives from the error event of a worker thread that threw one, which loses the class", async () => {
    // Prepare
    const worker = startWorkerThread(new URL("../../support/model-load-failure-worker.ts", import.meta.url), undefined);
    const [crossed] = (await once(worker, "error")) as [Error];
    // Act
    const revived = ModelLoadError.revive(crossed);
    // Assess
    expect(crossed).not.toBeInstanceOf(ModelLoadError);
    expect(revived).toBeInstanceOf(ModelLoadError);
    expect(revived?.failure).toBe("checksumMismatch");
    expect(revived?.message).toBe("/models/x/model.onnx has sha256 1234, but the manifest expects 5678");
  });

  it("revives nothing from another error", () => {
    // Act & Assess
    expect(ModelLoadError.revive(new Error("The inference worker exited with 1 before it was ready."))).toBeUndefined();
    expect(ModelLoadError.revive(Object.assign(new Error("x"), { name: "ModelLoadError", failure: "unheardOf" }))).toBeUndefined();
  });
});

describe("modelUnavailableError", () => {
  it("answers 503 MODEL_UNAVAILABLE with the reason, and not the paths of the detail", () => {
    // Prepare
    const cause = new ModelLoadError("manifestMissing", "/var/task/models/pneumonia-cnn/manifest.json cannot be read: ENOENT");
    // Act
    const error = modelUnavailableError(cause);
    // Assess
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error.toBody().error.message).toBe(`The model could not be loaded (${MODEL_LOAD_FAILURES.manifestMissing}); the service cannot classify right now. Retry later.`);
    expect(error.cause).toBe(cause);
  });

  it("says no reason for a failure it cannot name", () => {
    // Act
    const error = modelUnavailableError(new Error("out of memory at /opt/x"));
    // Assess
    expect(error.message).toBe("The model could not be loaded; the service cannot classify right now. Retry later.");
  });
});
