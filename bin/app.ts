#!/usr/bin/env node
/**
 * CDK app: `npx cdk synth` / `npx cdk deploy`. Options come from context (-c key=value); see the README.
 * Synthesis needs no credentials and makes no lookups.
 */
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { PneumoniaClassifierStack } from "../lib/pneumonia-classifier-stack.js";
import { readStackOptions } from "../lib/stack-options.js";

const app = new App();
new PneumoniaClassifierStack(app, "PneumoniaClassifier", {
  description: "Chest X-ray pneumonia classifier: API Gateway, container-image Lambda, GPU ECS fallback",
  options: readStackOptions((key) => app.node.tryGetContext(key)),
  buildContext: join(import.meta.dirname, ".."),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
