import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { checkInteger, withDefaults } from "./construct-props.js";

export interface ApiFirewallProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Requests from one IP address in any 5 minutes before it is blocked, from 100 to 2000000000. @default 2000 */
  readonly rateLimitPer5Min?: number;
}

/** What ApiFirewall builds with when a prop is left out. */
export const API_FIREWALL_DEFAULTS = { rateLimitPer5Min: 2000 } as const;

/** What ApiFirewall accepts. */
export const API_FIREWALL_LIMITS = { rateLimitPer5Min: { min: 100, max: 2_000_000_000 } } as const;

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
    const { rateLimitPer5Min, stageArn } = withDefaults(props, API_FIREWALL_DEFAULTS);
    checkInteger("ApiFirewallProps", "rateLimitPer5Min", rateLimitPer5Min, API_FIREWALL_LIMITS.rateLimitPer5Min);
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
          statement: { rateBasedStatement: { limit: rateLimitPer5Min, aggregateKeyType: "IP" } },
          visibilityConfig: visibility("RateLimitPerIp"),
        },
        managed(1, "AWSManagedRulesAmazonIpReputationList"),
        managed(2, "AWSManagedRulesCommonRuleSet", ["SizeRestrictions_BODY", "CrossSiteScripting_BODY"]),
        managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, "Association", { resourceArn: stageArn, webAclArn: this.webAcl.attrArn });
  }
}
