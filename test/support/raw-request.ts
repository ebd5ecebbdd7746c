import { connect } from "node:net";
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";

/** An answer as a raw request reads it. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends a request with node:http, for what fetch cannot send (repeated header lines, a body the server stops
 * reading); resolves with the answer even when the server closes the connection before reading the whole body.
 * `headers` may be raw lines, as in IncomingMessage.rawHeaders.
 */
export function rawRequest(url: string, body: Buffer, headers: OutgoingHttpHeaders | string[] = {}, method = "POST"): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const outgoing = httpRequest(url, { method, headers });
    outgoing.on("response", (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
    outgoing.on("error", (error) => {
      if (!answered) reject(error);
    });
    outgoing.end(body);
  });
}

/** A raw TCP client of the server at `url`, for what no HTTP client sends (headers alone, pipelined requests): what it has received so far, and when it closes. */
export function rawClient(url: string) {
  const client = connect(Number(new URL(url).port), "127.0.0.1");
  let received = "";
  client.on("data", (chunk: Buffer) => (received += chunk.toString()));
  client.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
  return { client, received: () => received, closed };
}
