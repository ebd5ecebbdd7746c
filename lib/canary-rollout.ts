import { Duration, Validations } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { checkInteger, withDefaults } from "./construct-props.js";

export interface CanaryRolloutProps {
  /** The alias clients reach, pointing at the version each deploy publishes (ClassifierFunction's `live`). */
  readonly alias: lambda.Alias;
  /** Alarms that stop the shift and roll back while a deployment runs. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /** Percent of the alias's traffic the new version gets first, from 1 to 99. @default 10 */
  readonly canaryPercent?: number;
  /** Minutes the new version serves that share before it gets all traffic, from 3 to 120. @default 5 */
  readonly canaryMinutes?: number;
}

/** What CanaryRollout builds with when a prop is left out. */
export const CANARY_ROLLOUT_DEFAULTS = { canaryPercent: 10, canaryMinutes: 5 } as const;

/** What CanaryRollout accepts. */
export const CANARY_ROLLOUT_LIMITS = {
  canaryPercent: { min: 1, max: 99, unit: "%" },
  // The rollback alarms need about 3 minutes of traffic to fire; `cdk deploy` waits out the whole canary.
  canaryMinutes: { min: 3, max: 120, unit: "min" },
} as const;

/**
 * Safe rollout of the Lambda function: each deploy publishes a new version, and CodeDeploy shifts the alias to
 * it in two steps (a canary share, then all of it), rolling back by itself when a deployment fails, is
 * stopped, or an alarm fires while it runs. Provisioned concurrency stays on the alias throughout.
 */
export class CanaryRollout extends Construct {
  readonly deploymentConfig: codedeploy.LambdaDeploymentConfig;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;

  constructor(scope: Construct, id: string, props: CanaryRolloutProps) {
    super(scope, id);
    const owner = "CanaryRolloutProps";
    const { alias, alarms, canaryPercent, canaryMinutes } = withDefaults(props, CANARY_ROLLOUT_DEFAULTS);
    checkInteger(owner, "canaryPercent", canaryPercent, CANARY_ROLLOUT_LIMITS.canaryPercent);
    checkInteger(owner, "canaryMinutes", canaryMinutes, CANARY_ROLLOUT_LIMITS.canaryMinutes);
    if (alarms.length === 0) throw new Error(`${owner}.alarms is empty: give the alarms that mean the new version is failing, or nothing can roll it back.`);

    this.deploymentConfig = new codedeploy.LambdaDeploymentConfig(this, "Config", {
      trafficRouting: codedeploy.TrafficRouting.timeBasedCanary({ percentage: canaryPercent, interval: Duration.minutes(canaryMinutes) }),
    });
    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, "DeploymentGroup", {
      alias,
      deploymentConfig: this.deploymentConfig,
      alarms: [...alarms],
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    Validations.of(this.deploymentGroup).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
      reason: "AWS-maintained policy for CodeDeploy's Lambda deployments: it may update aliases and read the alarms of this deployment, nothing else.",
    });
  }
}
