import { Duration } from "aws-cdk-lib";
import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import * as logs from "aws-cdk-lib/aws-logs";
import { afterAll, describe, expect, it } from "vitest";
import { ClassifierFunction, type ClassifierFunctionProps } from "../../lib/classifier-function.js";
import { SERVICE_METRICS } from "../../lambda/core/service-metrics.js";
import { bareStack, removeSynthesized, stubBuildContext } from "../support/synth.js";

afterAll(removeSynthesized);

describe("ClassifierFunction", () => {
  it("builds a container image on x86_64 with one vCPU, a 15 s timeout, 50 reserved executions, tracing and the metrics namespace", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::Lambda::Function", 1);
    template.hasResourceProperties("AWS::Lambda::Function", {
      PackageType: "Image",
      Architectures: ["x86_64"],
      MemorySize: 1769,
      Timeout: 15,
      ReservedConcurrentExecutions: 50,
      TracingConfig: { Mode: "Active" },
      LoggingConfig: Match.objectLike({ LogFormat: "JSON" }),
      Environment: { Variables: { POWERTOOLS_SERVICE_NAME: "pneumonia-classifier", POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_METRICS_NAMESPACE: SERVICE_METRICS.namespace } },
    });
  });

  it("takes memory, timeout and reserved concurrency from its props", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierFunction(stack, "Classifier", {
      buildContext: stubBuildContext(),
      memorySize: 2048,
      timeout: Duration.seconds(20),
      reservedConcurrency: 10,
    });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Function", { MemorySize: 2048, Timeout: 20, ReservedConcurrentExecutions: 10 });
  });

  it("logs to a log group of its own, kept a month by default", () => {
    // Prepare
    const stack = bareStack();
    const logGroup = new Capture();

    // Act
    new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Lambda::Function", { LoggingConfig: Match.objectLike({ LogGroup: { Ref: logGroup } }) });
    expect(Object.keys(template.findResources("AWS::Logs::LogGroup", { Properties: { RetentionInDays: 30 } }))).toEqual([logGroup.asString()]);
  });

  it("keeps its logs for the retention it is given", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext(), logRetention: logs.RetentionDays.THREE_MONTHS });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  it("points a live alias at the current version, without provisioned concurrency by default", () => {
    // Prepare
    const stack = bareStack();
    const version = new Capture();

    // Act
    new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext() });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties("AWS::Lambda::Alias", {
      Name: "live",
      FunctionVersion: { "Fn::GetAtt": [version, "Version"] },
      ProvisionedConcurrencyConfig: Match.absent(),
    });
    expect(template.findResources("AWS::Lambda::Version")).toHaveProperty([version.asString()]);
  });

  it("gives the live alias provisioned concurrency when asked for", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext(), provisionedConcurrency: 2 });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::Lambda::Alias", {
      Name: "live",
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
    });
  });

  it.each<[Partial<ClassifierFunctionProps>, RegExp]>([
    [{ memorySize: 64 }, /^ClassifierFunctionProps\.memorySize=64 MB is invalid: give an integer from 512 MB to 10240 MB\.$/],
    [{ memorySize: 1769.5 }, /memorySize=1769\.5 MB is invalid/],
    [{ timeout: Duration.seconds(30) }, /^ClassifierFunctionProps\.timeout=30 s is invalid: give an integer from 3 s to 29 s\.$/],
    [{ reservedConcurrency: 0 }, /reservedConcurrency=0 is invalid: give an integer from 1 to 10000/],
    [{ provisionedConcurrency: 80 }, /provisionedConcurrency=80 is above reservedConcurrency=50: Lambda needs reserved >= provisioned/],
  ])("refuses %o with a message naming the value and the fix", (props, message) => {
    // Prepare
    const stack = bareStack();

    // Act
    const act = () => new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext(), ...props });

    // Assess
    expect(act).toThrowError(message);
  });
});
