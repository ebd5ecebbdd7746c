import type { FuzzInput } from "./protocol.js";
import { MB } from "./worker-host.js";

/** Keeps memory bounded on long runs; a finding that needs more history than this will not reproduce from it. */
const HISTORY_CAP_BYTES = 256 * MB;

/** Every input the current worker has run, oldest first (bounded), to replay when a finding needs earlier state. */
export class InputHistory {
  private readonly inputs: FuzzInput[] = [];
  private bytes = 0;

  /** Forgets everything: called when a fresh worker starts, since it has seen nothing. */
  clear(): void {
    this.inputs.length = 0;
    this.bytes = 0;
  }

  /** Notes an input sent to the current worker, dropping the oldest ones over the cap. */
  push(input: FuzzInput): void {
    this.inputs.push(input);
    this.bytes += input.bytes.length;
    while (this.bytes > HISTORY_CAP_BYTES && this.inputs.length > 1) this.bytes -= this.inputs.shift()!.bytes.length;
  }

  /** The inputs this worker ran before the given one, oldest first. */
  before(input: FuzzInput): FuzzInput[] {
    return this.inputs.slice(0, Math.max(0, this.inputs.lastIndexOf(input)));
  }
}
