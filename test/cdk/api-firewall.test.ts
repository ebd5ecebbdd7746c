import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { ApiFirewall } from "../../lib/api-firewall.js";
import { bareStack, removeSynthesized } from "../support/synth.js";

const STAGE_ARN = "arn:aws:apigateway:us-east-1::/restapis/abc123/stages/prod";

afterAll(removeSynthesized);

describe("ApiFirewall", () => {
  it("blocks an IP after 2000 requests in 5 minutes, with managed rules that let image bodies through", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ApiFirewall(stack, "Firewall", { stageArn: STAGE_ARN });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "REGIONAL",
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({ Name: "RateLimitPerIp", Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: "IP" } } }),
        Match.objectLike({ Name: "AWSManagedRulesAmazonIpReputationList" }),
        Match.objectLike({
          Name: "AWSManagedRulesCommonRuleSet",
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({
              RuleActionOverrides: [
                { Name: "SizeRestrictions_BODY", ActionToUse: { Count: {} } },
                { Name: "CrossSiteScripting_BODY", ActionToUse: { Count: {} } },
              ],
            }),
          },
        }),
        Match.objectLike({ Name: "AWSManagedRulesKnownBadInputsRuleSet" }),
      ]),
    });
  });

  it("takes the rate limit from its props", () => {
    // Prepare
    const stack = bareStack();

    // Act
    new ApiFirewall(stack, "Firewall", { stageArn: STAGE_ARN, rateLimitPer5Min: 500 });

    // Assess
    Template.fromStack(stack).hasResourceProperties("AWS::WAFv2::WebACL", {
      Rules: Match.arrayWith([Match.objectLike({ Name: "RateLimitPerIp", Statement: { RateBasedStatement: Match.objectLike({ Limit: 500 }) } })]),
    });
  });

  it("attaches its web ACL to the stage it is given", () => {
    // Prepare
    const stack = bareStack();
    const webAcl = new Capture();

    // Act
    new ApiFirewall(stack, "Firewall", { stageArn: STAGE_ARN });

    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 1);
    template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", { ResourceArn: STAGE_ARN, WebACLArn: { "Fn::GetAtt": [webAcl, "Arn"] } });
    expect(template.findResources("AWS::WAFv2::WebACL")).toHaveProperty([webAcl.asString()]);
  });

  it.each([
    [99, /^ApiFirewallProps\.rateLimitPer5Min=99 is invalid: give an integer from 100 to 2000000000\.$/],
    [2000.5, /rateLimitPer5Min=2000\.5 is invalid/],
  ])("refuses a rate limit of %d with a message naming the value and the fix", (rateLimitPer5Min, message) => {
    // Prepare
    const stack = bareStack();

    // Act
    const act = () => new ApiFirewall(stack, "Firewall", { stageArn: STAGE_ARN, rateLimitPer5Min });

    // Assess
    expect(act).toThrowError(message);
  });
});
