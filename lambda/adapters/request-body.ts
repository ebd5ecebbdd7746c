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

  /** Bytes that can still be taken. */
  get left(): number {
    return this.limit - this.used;
  }
}

/** A body read whole, or why it was not: over the request limit, or over what the process may hold. */
export type BodyRead = { body: Buffer } | { refused: "too-large" | "over-budget" };

/**
 * Reads a request body up to maxBytes, taking each chunk from the budget as it arrives; the caller gives
 * back `body.length` once the request is answered. Stops at the first chunk over a limit, holding nothing,
 * and leaves the request flowing with no reader: what the client still sends is the caller's to discard
 * (closing at once would make the client's kernel answer its writes with a reset instead of our answer).
 */
export function readBody(request: IncomingMessage, maxBytes: number, budget?: ByteBudget): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stopReading = () => {
      request.off("data", onData).off("end", onEnd).off("error", onError);
    };
    const refuse = (refused: "too-large" | "over-budget") => {
      stopReading();
      budget?.give(length);
      resolve({ refused });
    };
    const onData = (chunk: Buffer) => {
      if (length + chunk.length > maxBytes) return refuse("too-large");
      if (budget && !budget.take(chunk.length)) return refuse("over-budget");
      length += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      stopReading();
      resolve({ body: Buffer.concat(chunks, length) });
    };
    const onError = (error: Error) => {
      stopReading();
      budget?.give(length);
      reject(error);
    };
    request.on("data", onData).on("end", onEnd).on("error", onError);
  });
}
