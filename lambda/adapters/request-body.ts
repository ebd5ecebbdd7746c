import type { IncomingMessage } from "node:http";

/** Bytes of request bodies a process holds at once, across all its requests, so memory stays bounded. */
export class ByteBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Takes n bytes if they fit; false (and nothing taken) if not. */
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }
}

/** A body read whole, or why it was not: over the request limit, or over what the process may hold. */
export type BodyRead = { body: Buffer } | { refused: "too-large" | "over-budget" };

/**
 * Reads a request body up to maxBytes, taking each chunk from the budget as it arrives; the caller gives
 * back `body.length` once the request is answered. Stops at the first chunk over a limit, holding nothing.
 */
export async function readBody(request: IncomingMessage, maxBytes: number, budget?: ByteBudget): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (length + chunk.length > maxBytes) {
      budget?.give(length);
      return { refused: "too-large" };
    }
    if (budget && !budget.take(chunk.length)) {
      budget.give(length);
      return { refused: "over-budget" };
    }
    length += chunk.length;
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks, length) };
}
