import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { afterAll, describe, expect, it } from "vitest";
import { CanaryRollout, type CanaryRolloutProps } from "../../lib/canary-rollout.js";
import { ClassifierFunction, type ClassifierFunctionProps } from "../../lib/classifier-function.js";
import { bareStack, removeSynthesized, stubBuildContext } from "../support/synth.js";

afterAll(removeSynthesized);

/** CanaryRollout on ClassifierFunction's live alias, rolled back by one alarm on the alias's errors. */
function rolledOut(props: Partial<CanaryRolloutProps> = {}, classifierProps: Partial<ClassifierFunctionProps> = {}) {
  const stack = bareStack();
  const classifier = new ClassifierFunction(stack, "Classifier", { buildContext: stubBuildContext(), ...classifierProps });
  const alarm = new cloudwatch.Alarm(stack, "Errors", { metric: classifier.alias.metricErrors(), threshold: 1, evaluationPeriods: 1 });
  const rollout = new CanaryRollout(stack, "Rollout", { alias: classifier.alias, alarms: [alarm], ...props });
  return { stack, rollout, template: Template.fromStack(stack) };
}

describe("CanaryRollout", () => {
  it("shifts 10 % of the traffic for 5 minutes, then the rest, by default", () => {
    // Act
    const { template } = rolledOut();

    // Assess
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentConfig", {
      ComputePlatform: "Lambda",
      TrafficRoutingConfig: { Type: "TimeBasedCanary", TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 5 } },
    });
  });

  it("shifts the share it is given for the minutes it is given", () => {
    // Act
    const { template } = rolledOut({ canaryPercent: 25, canaryMinutes: 15 });

    // Assess
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentConfig", {
      TrafficRoutingConfig: { Type: "TimeBasedCanary", TimeBasedCanary: { CanaryPercentage: 25, CanaryInterval: 15 } },
    });
  });

  it("deploys the live alias through CodeDeploy, which rolls back on a failure, a stop or an alarm", () => {
    // Act
    const { template } = rolledOut();

    // Assess
    const group = new Capture();
    const application = new Capture();
    const config = new Capture();
    template.hasResource("AWS::Lambda::Alias", {
      Properties: Match.objectLike({ Name: "live" }),
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: { ApplicationName: { Ref: application }, DeploymentGroupName: { Ref: group } } },
    });
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentGroup", {
      ApplicationName: { Ref: application.asString() },
      DeploymentConfigName: { Ref: config },
      DeploymentStyle: { DeploymentType: "BLUE_GREEN", DeploymentOption: "WITH_TRAFFIC_CONTROL" },
      AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: Match.stringLikeRegexp("^Errors") } }] },
      AutoRollbackConfiguration: { Enabled: true, Events: ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST", "DEPLOYMENT_STOP_ON_ALARM"] },
    });
    expect(Object.keys(template.findResources("AWS::CodeDeploy::DeploymentGroup"))).toEqual([group.asString()]);
    expect(Object.keys(template.findResources("AWS::CodeDeploy::DeploymentConfig"))).toEqual([config.asString()]);
  });

  it("keeps the alias's provisioned concurrency while CodeDeploy shifts it", () => {
    // Act
    const { template } = rolledOut({}, { provisionedConcurrency: 2 });

    // Assess
    template.hasResource("AWS::Lambda::Alias", {
      Properties: Match.objectLike({ Name: "live", ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 } }),
      UpdatePolicy: { CodeDeployLambdaAliasUpdate: Match.anyValue() },
    });
  });

  it.each<[Partial<CanaryRolloutProps>, RegExp]>([
    [{ canaryPercent: 100 }, /^CanaryRolloutProps\.canaryPercent=100 % is invalid: give an integer from 1 % to 99 %\.$/],
    [{ canaryMinutes: 1 }, /^CanaryRolloutProps\.canaryMinutes=1 min is invalid: give an integer from 3 min to 120 min\.$/],
    [{ alarms: [] }, /^CanaryRolloutProps\.alarms is empty: give the alarms that mean the new version is failing, or nothing can roll it back\.$/],
  ])("refuses %o with a message naming the value and the fix", (props, message) => {
    // Act
    const act = () => rolledOut(props);

    // Assess
    expect(act).toThrowError(message);
  });
});
