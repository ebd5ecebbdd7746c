import { describe, expect, it } from "vitest";
import type { Template } from "aws-cdk-lib/assertions";
import { synthesizeBothStacks } from "../support/synth.js";

/**
 * Resources CDK names after a hash of their content, on purpose: a new Lambda version and a new API deployment
 * on every change of the code or the API. Their path part is kept; the content hash would make every edit of
 * lambda/ fail this test.
 */
const CONTENT_HASHED_TYPES = new Set(["AWS::Lambda::Version", "AWS::ApiGateway::Deployment"]);
const CONTENT_HASH = /[0-9a-f]{32}$/;

/**
 * Logical IDs are the stack's contract with CloudFormation: a changed one replaces the real resource (a new
 * API URL, a new API key, a drained GPU service). This snapshot makes a changed construct id show up in review.
 */
function logicalIds(template: Template): { logicalId: string; Type: string }[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.entries(resources)
    .map(([id, { Type }]) => ({ logicalId: CONTENT_HASHED_TYPES.has(Type) ? id.replace(CONTENT_HASH, "<content hash>") : id, Type }))
    .sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

const stacks = synthesizeBothStacks();

describe("logical IDs", () => {
  it.each([
    ["the full stack", () => stacks.full],
    ["the Lambda-only stack", () => stacks.lambdaOnly],
  ])("keeps every logical ID and type of %s", (_name, synthesized) => {
    // Prepare
    const { template } = synthesized();

    // Act
    const ids = logicalIds(template);

    // Assess
    expect(ids).toMatchSnapshot();
  });

  it("keeps the function id the README's sam local invoke line names", () => {
    // Prepare
    const { template } = stacks.full;

    // Act
    const resource = template.toJSON().Resources.ClassifierFunction1A3EEE90;

    // Assess
    expect(resource).toMatchObject({ Type: "AWS::Lambda::Function", Properties: { PackageType: "Image" } });
  });
});
