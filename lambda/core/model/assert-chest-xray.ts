import { NotAChestXrayError } from "../errors.js";
import type { Classification } from "./onnx-model.js";

/**
 * The gate's decision, in one place for every host: throws NotAChestXrayError (422) when the image's score is
 * over the threshold, so the model's answer for an image unlike its training X-rays never reaches a client.
 * A model without a gate lets every image through.
 */
export function assertChestXray(result: Classification): void {
  if (result.gate && result.gate.score > result.gate.threshold) throw new NotAChestXrayError(result.gate);
}
