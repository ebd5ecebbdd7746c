import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";

export interface ApiFirewallProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Requests from one IP address in any 5 minutes before it is blocked. @default 2000 */
  readonly rateLimitPer5Min?: number;
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

/**
 * A regional WAF web ACL on the API stage: a per-IP rate limit, and AWS managed rules tuned for image uploads.
 * The common rule set's body rules would block every X-ray: SizeRestrictions_BODY refuses bodies over 8 KB,
 * and CrossSiteScripting_BODY matches patterns that turn up in binary JPEG bytes. Both only count here;
 * the handler enforces its own size limits and never renders the body.
 */
export class ApiFirewall extends Construct {
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    super(scope, id);
    const managed = (priority: number, name: string, countOnly: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: "AWS",
          name,
          ruleActionOverrides: countOnly.length ? countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
        },
      },
      visibilityConfig: visibility(name),
    });
    this.webAcl = new wafv2.CfnWebACL(this, "WebAcl", {
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: visibility("PneumoniaClassifierApi"),
      rules: [
        {
          name: "RateLimitPerIp",
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.rateLimitPer5Min ?? 2000, aggregateKeyType: "IP" } },
          visibilityConfig: visibility("RateLimitPerIp"),
        },
        managed(1, "AWSManagedRulesAmazonIpReputationList"),
        managed(2, "AWSManagedRulesCommonRuleSet", ["SizeRestrictions_BODY", "CrossSiteScripting_BODY"]),
        managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, "Association", { resourceArn: props.stageArn, webAclArn: this.webAcl.attrArn });
  }
}
