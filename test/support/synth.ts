import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { PneumoniaClassifierStack } from "../../lib/pneumonia-classifier-stack.js";
import { readStackOptions } from "../../lib/stack-options.js";

export const REPO_ROOT = join(import.meta.dirname, "..", "..");

/** A synthesized stack, as `npx cdk synth -c ...` would make it: cdk.json's context, cdk-nag checks, offline. */
export interface Synthesized {
  stack: PneumoniaClassifierStack;
  template: Template;
  /** Path of the template file written to the cloud assembly. */
  templatePath: string;
}

const outdirs: string[] = [];

/** Removes every cloud assembly synthesize() and bareStack() wrote; synthesize()'s hold staged copies of the Docker build context. */
export function removeSynthesized(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

function freshOutdir(): string {
  const outdir = mkdtempSync(join(tmpdir(), "cdk-out-"));
  outdirs.push(outdir);
  return outdir;
}

/** cdk.json's context: the feature flags the app is synthesized with. */
function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")).context;
}

/**
 * An empty stack in an app of its own, to test one construct without the others: cdk.json's feature flags,
 * image assets fingerprinted but not copied, and neither cdk-nag nor CDK's built-in CloudFormation validation
 * (its first run in a process takes about 4 s); synthesize() runs both on the whole stack.
 */
export function bareStack(): Stack {
  const app = new App({
    outdir: freshOutdir(),
    context: { ...cdkJsonContext(), "aws:cdk:disable-asset-staging": true },
    builtinCloudFormationValidation: false,
  });
  return new Stack(app, "Test");
}

/**
 * A build context holding only empty lambda/Dockerfile and lambda/Dockerfile.gpu: enough for a construct to make
 * its image asset, without fingerprinting the repository on every synth (about a second each).
 */
export function stubBuildContext(): string {
  const root = freshOutdir();
  mkdirSync(join(root, "lambda"));
  for (const file of ["Dockerfile", "Dockerfile.gpu"]) writeFileSync(join(root, "lambda", file), "FROM scratch\n");
  return root;
}

/** Synthesizes the stack with cdk.json's context plus the given options, into a fresh temporary folder. */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const outdir = freshOutdir();
  // The CLI turns asset metadata on by default; `sam local` reads it to find each image's Dockerfile.
  const app = new App({ outdir, context: { ...cdkJsonContext(), "aws:cdk:enable-asset-metadata": true, ...context } });
  const stack = new PneumoniaClassifierStack(app, "PneumoniaClassifier", {
    options: readStackOptions((key) => app.node.tryGetContext(key)),
    buildContext: REPO_ROOT,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return {
    stack,
    template: Template.fromJSON(assembly.getStackByName(stack.stackName).template),
    templatePath: join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile),
  };
}

/** The stack as deployed by default and with `-c gpu=false`. */
export interface BothStacks {
  full: Synthesized;
  lambdaOnly: Synthesized;
}

/**
 * Synthesizes both stacks once before a test file's tests and removes them after: call at the top of the file.
 * The fields are filled when its tests run.
 */
export function synthesizeBothStacks(): BothStacks {
  const stacks = {} as BothStacks;
  beforeAll(() => {
    stacks.full = synthesize();
    stacks.lambdaOnly = synthesize({ gpu: "false" });
  });
  afterAll(removeSynthesized);
  return stacks;
}
