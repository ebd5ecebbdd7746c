import { describe, expect, it } from "vitest";
import { serverConfigFromEnv } from "../../lambda/server/server-config.js";
import { BATCH_LIMITS } from "../../lambda/core/limits.js";

describe("serverConfigFromEnv", () => {
  it("uses the defaults when nothing is set", () => {
    // Act
    const config = serverConfigFromEnv({});
    // Assess
    expect(config).toMatchObject({ port: 8080, host: "127.0.0.1", maxBatchSize: 16, maxWaitMs: 5, maxInFlightImages: 128, maxQueueWaitMs: 1000 });
    expect(config.preprocessThreads).toBeGreaterThanOrEqual(1);
  });

  it("reads every setting from its variable", () => {
    // Act
    const config = serverConfigFromEnv({ PORT: "0", HOST: "0.0.0.0", BATCH_MAX_SIZE: "1", BATCH_MAX_WAIT_MS: "0", PREPROCESS_THREADS: "3" });
    // Assess
    expect(config).toMatchObject({ port: 0, host: "0.0.0.0", maxBatchSize: 1, maxWaitMs: 0, preprocessThreads: 3 });
  });

  it.each([
    ["BATCH_MAX_SIZE", "0"],
    ["BATCH_MAX_WAIT_MS", "-1"],
    ["PORT", "http"],
    ["PREPROCESS_THREADS", "1.5"],
    ["QUEUE_MAX_IMAGES", String(BATCH_LIMITS.maxFiles - 1)],
  ])("refuses %s=%s, naming the variable and the range", (name, value) => {
    // Act
    const read = () => serverConfigFromEnv({ [name]: value });
    // Assess
    expect(read).toThrow(new RegExp(`^${name}="${value}" is not a whole number from`));
  });

  it("refuses a latency budget no longer than the batch wait, which every image may spend", () => {
    // Act
    const read = () => serverConfigFromEnv({ BATCH_MAX_WAIT_MS: "200", QUEUE_MAX_WAIT_MS: "200" });
    // Assess
    expect(read).toThrow(/^QUEUE_MAX_WAIT_MS=200 must be over BATCH_MAX_WAIT_MS=200/);
  });
});
