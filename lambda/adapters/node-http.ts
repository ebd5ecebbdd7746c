import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import { ERROR_CODES, InternalError, PayloadTooLargeError, TemporarilyUnavailableError } from "../core/errors.js";
import type { App } from "../core/http/app.js";
import type { CoreRequest, CoreResponse } from "../core/http/http-types.js";
import { ByteBudget, readBody } from "./request-body.js";

/** Limits the adapter applies before the core sees a request. */
export interface NodeHttpOptions {
  /** Largest body of one request; past it, 413 and the connection is closed. */
  maxBodyBytes: number;
  /** Bytes of bodies held at once across requests; past it, 503 with Retry-After. */
  maxBufferedBytes: number;
}

/** A Node HTTP server in front of the core, with what a graceful shutdown needs. */
export interface NodeHttpFront {
  server: Server;
  /**
   * Stops accepting connections, closes idle ones, answers what is in progress (each with Connection:
   * close) and resolves true once all is answered, or false if `timeoutMs` passed first.
   */
  drain(timeoutMs: number): Promise<boolean>;
}

function toCoreRequest(request: IncomingMessage, body: Buffer): CoreRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return { method: request.method ?? "GET", path: new URL(request.url ?? "/", "http://localhost").pathname, headers, body };
}

function writeResponse(response: ServerResponse, { statusCode, headers, body }: CoreResponse): Promise<void> {
  return new Promise((resolve) => {
    response.writeHead(statusCode, headers);
    response.end(body, resolve);
  });
}

/**
 * The batching server's HTTP front: each request becomes a CoreRequest for the app and its answer the HTTP
 * response, nothing more. Bodies are bounded one by one and all together, so no client can exhaust memory.
 */
export function createNodeHttpFront(app: App, options: NodeHttpOptions): NodeHttpFront {
  const budget = new ByteBudget(options.maxBufferedBytes);
  let inProgress = 0;
  let draining = false;
  let allAnswered: (() => void) | undefined;

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const read = await readBody(request, options.maxBodyBytes, budget);
    if ("refused" in read) {
      // The rest of the body is not read: close the connection once the answer is out.
      response.setHeader("connection", "close");
      const refused =
        read.refused === "too-large"
          ? new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, `The request body is over ${options.maxBodyBytes / 2 ** 20} MiB; send fewer or smaller images.`)
          : new TemporarilyUnavailableError(ERROR_CODES.overloaded, "The server holds as many uploads as it may right now; retry after a second.", 1);
      await writeResponse(response, refused.toResponse());
      request.destroy();
      return;
    }
    try {
      const answered = await app(toCoreRequest(request, read.body));
      // While draining, every answer closes its connection, so keep-alive clients reconnect elsewhere.
      if (draining) response.setHeader("connection", "close");
      await writeResponse(response, answered);
    } finally {
      budget.give(read.body.length);
    }
  }

  const server = createServer((request, response) => {
    inProgress++;
    answer(request, response)
      .catch(() => {
        // The app answers every error itself; reaching here means the connection broke mid-request.
        if (!response.headersSent) void writeResponse(response, new InternalError("The server failed to answer; send the request again.").toResponse());
        else response.destroy();
      })
      .finally(() => {
        inProgress--;
        if (inProgress === 0) allAnswered?.();
      });
  });
  // A client that sends its headers or body slowly cannot hold a connection open for ever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;

  return {
    server,
    async drain(timeoutMs) {
      draining = true;
      const closed = once(server, "close");
      server.close();
      server.closeIdleConnections();
      const answered = inProgress === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allAnswered = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const finished = await Promise.race([answered.then(() => closed).then(() => true), timedOut]);
      clearTimeout(timer);
      return finished;
    },
  };
}
