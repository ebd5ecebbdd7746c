import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
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

/** Removes every cloud assembly synthesize() wrote; each holds staged copies of the Docker build context. */
export function removeSynthesized(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/** Synthesizes the stack with cdk.json's context plus the given options, into a fresh temporary folder. */
export function synthesize(context: Record<string, unknown> = {}): Synthesized {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8"));
  const outdir = mkdtempSync(join(tmpdir(), "cdk-out-"));
  outdirs.push(outdir);
  // The CLI turns asset metadata on by default; `sam local` reads it to find each image's Dockerfile.
  const app = new App({ outdir, context: { ...cdkJson.context, "aws:cdk:enable-asset-metadata": true, ...context } });
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
