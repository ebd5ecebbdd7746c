import { Duration } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { readStackOptions } from "../../lib/stack-options.js";

/** A context reader over a plain object, as `app.node.tryGetContext` reads `-c key=value`. */
function contextOf(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

describe("readStackOptions", () => {
  it("leaves every prop unset without context, so each construct's default applies", () => {
    // Prepare
    const read = contextOf({});

    // Act
    const options = readStackOptions(read);

    // Assess
    expect(options).toEqual({ classifier: {}, gpuService: {}, api: {}, firewall: {}, monitoring: {}, rollout: {} });
    expect(options.gpu).toBeUndefined();
  });

  it("reads each -c key into the prop it sets", () => {
    // Prepare
    const read = contextOf({
      gpu: "false",
      gpuInstanceType: "g5.xlarge",
      gpuMinTasks: "2",
      gpuMaxTasks: "6",
      gpuBatchMaxSize: "64",
      gpuBatchMaxWaitMs: "20",
      lambdaMemoryMb: "2048",
      lambdaTimeoutSeconds: "20",
      reservedConcurrency: "10",
      provisionedConcurrency: "2",
      authMode: "iam",
      stageRateLimit: "30",
      stageBurstLimit: "40",
      lambdaRouteRateLimit: "7",
      gpuRouteRateLimit: "9",
      dailyQuota: "1000",
      wafRateLimitPer5Min: "500",
      logRetentionDays: "90",
      alarmEmail: "ops@example.com",
      p99LatencyMs: "3000",
      pneumoniaShareMinPercent: "20",
      pneumoniaShareMaxPercent: "60",
      canaryPercent: "25",
      canaryMinutes: "15",
    });

    // Act
    const options = readStackOptions(read);

    // Assess
    expect(options).toEqual({
      gpu: false,
      classifier: { memorySize: 2048, timeout: Duration.seconds(20), reservedConcurrency: 10, provisionedConcurrency: 2, logRetention: 90 },
      gpuService: { instanceType: "g5.xlarge", minTasks: 2, maxTasks: 6, batchMaxSize: 64, batchMaxWaitMs: 20, logRetention: 90 },
      api: { authMode: "iam", stageRateLimit: 30, stageBurstLimit: 40, lambdaRouteRateLimit: 7, gpuRouteRateLimit: 9, dailyQuota: 1000, logRetention: 90 },
      firewall: { rateLimitPer5Min: 500 },
      monitoring: { alarmEmail: "ops@example.com", p99LatencyMs: 3000, pneumoniaShareMinPercent: 20, pneumoniaShareMaxPercent: 60 },
      rollout: { canaryPercent: 25, canaryMinutes: 15 },
    });
  });

  it("reads values cdk.json gives as JSON booleans and numbers", () => {
    // Prepare
    const read = contextOf({ gpu: true, lambdaMemoryMb: 3008 });

    // Act
    const options = readStackOptions(read);

    // Assess
    expect(options.gpu).toBe(true);
    expect(options.classifier?.memorySize).toBe(3008);
  });

  it.each([
    [{ gpu: "yes" }, /^Context gpu="yes" is invalid: give true or false\.$/],
    [{ authMode: "cognito" }, /^Context authMode="cognito" is invalid: give one of apiKey, iam, none\.$/],
    [{ lambdaMemoryMb: "lots" }, /^Context lambdaMemoryMb="lots" is invalid: give an integer\.$/],
    [{ gpuBatchMaxWaitMs: "2.5" }, /^Context gpuBatchMaxWaitMs="2\.5" is invalid: give an integer\.$/],
    [{ canaryPercent: "ten" }, /^Context canaryPercent="ten" is invalid: give an integer\.$/],
    [{ logRetentionDays: "31" }, /^Context logRetentionDays=31 is invalid: CloudWatch accepts 1, 3, 5, 7, 14, 30, .*, 3653\.$/],
  ])("refuses %o naming the context key, the value and the fix", (context, message) => {
    // Prepare
    const read = contextOf(context);

    // Act
    const act = () => readStackOptions(read);

    // Assess
    expect(act).toThrowError(message);
  });
});
