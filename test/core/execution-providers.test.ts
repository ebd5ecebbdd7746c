import { describe, expect, it } from "vitest";
import { executionProvidersFromEnv } from "../../lambda/core/shared-classifier.js";

describe("executionProvidersFromEnv", () => {
  it.each([
    ["unset", undefined, ["cpu"]],
    ["empty", "", ["cpu"]],
    ["the GPU image's value", "cuda,cpu", ["cuda", "cpu"]],
    ["spaces, capitals and empty items", " CUDA , cpu ,", ["cuda", "cpu"]],
  ])("reads %s as the providers in order", (_case, value, expected) => {
    // Act
    const providers = executionProvidersFromEnv(value);
    // Assess
    expect(providers).toEqual(expected);
  });
});
