import { NotAChestXrayError, type GateVerdict } from "../errors.js";
import type { Classification } from "./onnx-model.js";

/** Whether the gate refuses the image: its score is over the threshold. A model without a gate refuses none. */
export function refusedByGate(result: Classification): result is Classification & { gate: GateVerdict } {
  return result.gate !== undefined && result.gate.score > result.gate.threshold;
}

/**
 * The gate's decision, in one place for every host: throws NotAChestXrayError (422) when the image's score is
 * over the threshold, so the model's answer for an image unlike its training X-rays never reaches a client.
 * A model without a gate lets every image through.
 */
export function assertChestXray(result: Classification): void {
  if (refusedByGate(result)) throw new NotAChestXrayError(result.gate);
}
