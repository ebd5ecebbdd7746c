import type { ErrorInfo, FuzzInput, RunReply, Target } from "./protocol.js";

/** A crash, timeout or other bad outcome of one input, as recorded and saved. */
export interface Finding {
  kind: string;
  signature: string;
  input: FuzzInput;
  ms: number;
  error?: ErrorInfo;
  detail?: string;
}

/** Names an input in log lines and the summary: target, iteration, seed and the mutations applied. */
export const labelOf = (input: FuzzInput) => `${input.target} #${input.iteration} seed=${input.seed} mutations=[${input.mutations.join(" + ")}]`;

/** A stable name for a crash: its kind, error name, message without numbers and first project or library frame. */
export function signatureOf(kind: string, error: ErrorInfo | undefined, input: FuzzInput): string {
  const target = input.target;
  if (!error) return `${target}:${kind}:${input.seed.split(":")[0]}:${input.mutations.map((m) => m.split(/[ @]/)[0]).join("+")}`;
  const message = error.message.replace(/\d+/g, "N").replace(/"[^"]*"/g, '"…"').slice(0, 120);
  const frame = (error.stack ?? "").split("\n").find((line) => /lambda\/core|node_modules/.test(line))?.trim().replace(/:\d+:\d+\)?$/, "") ?? "";
  return `${target}:${kind}:${error.name}:${message}:${frame}`;
}

/** What went wrong, in one line: the error with its cause, and the detail (e.g. how the decoder misbehaved). */
export function describeFinding(finding: Finding): string {
  const error = finding.error ? `${finding.error.name}: ${finding.error.message.split("\n")[0]}${finding.error.cause ? ` (cause ${finding.error.cause})` : ""}` : "";
  return [error, finding.detail].filter(Boolean).join(" | ");
}

/**
 * The signature of a state finding: what the input itself did and how the known-good image then failed, numbers
 * blurred, so inputs that break the decoder the same way count as one finding.
 */
export function stateSignatureOf(target: Target, outcome: RunReply): string {
  return `${target}:state:input ${outcome.status ?? "resolved"} ${outcome.error?.cause ?? ""}:known-good image then ${/cause: (.*)\)$/.exec(outcome.detail ?? "")?.[1] ?? outcome.detail}`.replace(/\d{3,}/g, "N");
}
