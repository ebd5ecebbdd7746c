import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo } from "node:net";
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { ERROR_CODES, InternalError, TemporarilyUnavailableError, toApiError, type ApiError } from "../core/errors.js";
import type { App } from "../core/http/app.js";
import { headerMap, type CoreRequest } from "../core/http/http-types.js";
import { ByteBudget, readBody } from "./request-body.js";
import { ListenError } from "./listen-error.js";
import { logger } from "../core/logger.js";

/** An answer as the front writes it: the core's, or a Lambda proxy result's, whose body may be binary. */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/**
 * How long a draining server waits with nothing in progress before it closes its idle connections: time for a
 * request already on its way over a kept-alive connection to be read and answered.
 */
const DRAIN_QUIET_MS = 100;

/** Answers one request once its body is read; throws an ApiError to refuse it. */
export type HttpHandler = (request: IncomingMessage, body: Buffer) => Promise<HttpAnswer>;

/** Limits the front applies before its handler sees a request. */
export interface NodeHttpOptions {
  /** Largest body of one request; past it, `tooLarge` is the answer and the connection is closed. */
  maxBodyBytes: number;
  /** The 413 of a body over maxBodyBytes, saying what to do on this host. */
  tooLarge: () => ApiError;
  /** Bytes of bodies held at once across requests; past it, 503 with Retry-After. @default - no bound but maxBodyBytes a request */
  maxBufferedBytes?: number;
}

/** A Node HTTP server in front of a host's handler, with what starting and stopping it need. */
export interface NodeHttpFront {
  server: Server;
  /** Listens and resolves with the URL; rejects with a ListenError whose message says what to do. */
  listen(port: number, host: string): Promise<string>;
  /**
   * Stops accepting connections, answers what is in progress and what arrives on open connections (each with
   * Connection: close), closes the idle ones once nothing has been in progress for a moment, and resolves true
   * once all is answered and closed, or false if `timeoutMs` passed first.
   */
  drain(timeoutMs: number): Promise<boolean>;
}

/** The request as the core sees it: path and query apart, headers as headerMap makes them. */
function toCoreRequest(request: IncomingMessage, body: Buffer): CoreRequest {
  const lines: [string, string][] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push([request.rawHeaders[i]!, request.rawHeaders[i + 1]!]);
  const url = new URL(request.url ?? "/", "http://localhost");
  return { method: request.method ?? "GET", path: url.pathname, headers: headerMap(lines), body, query: url.searchParams };
}

/** The handler of a host that serves the core's app directly (the batching server). */
export function appHandler(app: App): HttpHandler {
  return (request, body) => app(toCoreRequest(request, body));
}

function write(response: ServerResponse, { statusCode, headers, body }: HttpAnswer): Promise<void> {
  return new Promise((resolve) => {
    response.writeHead(statusCode, headers);
    response.end(body, resolve);
  });
}

/**
 * The Node HTTP front of `npm start` and of the batching server: reads each body within the limits, hands
 * it to the host's handler, and writes the answer; an ApiError thrown on the way is answered as itself,
 * anything else as 500. Bodies are bounded one by one and, with maxBufferedBytes, all together, so no
 * client can exhaust memory.
 */
export function createNodeHttpFront(handle: HttpHandler, options: NodeHttpOptions): NodeHttpFront {
  const budget = options.maxBufferedBytes === undefined ? undefined : new ByteBudget(options.maxBufferedBytes);
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
          ? options.tooLarge()
          : new TemporarilyUnavailableError(ERROR_CODES.overloaded, "The server holds as many uploads as it may right now; retry after a second.", 1);
      await write(response, refused.toResponse());
      request.destroy();
      return;
    }
    try {
      const answered = await handle(request, read.body).catch((error: unknown) => {
        const refusal = toApiError(error);
        if (refusal instanceof InternalError) logger.error("request failed in the HTTP front", { error: error as Error });
        return refusal.toResponse();
      });
      // While draining, every answer closes its connection, so keep-alive clients reconnect elsewhere.
      if (draining) response.setHeader("connection", "close");
      await write(response, answered);
    } finally {
      budget?.give(read.body.length);
    }
  }

  const server = createServer((request, response) => {
    inProgress++;
    answer(request, response)
      .catch(() => {
        // Every error is answered above; reaching here means the connection broke mid-request.
        if (!response.headersSent) void write(response, new InternalError("The server failed to answer; send the request again.").toResponse());
        else response.destroy();
      })
      .finally(() => {
        inProgress--;
        if (inProgress === 0) allAnswered?.();
      });
  });
  // A client that asks before sending its body (Expect: 100-continue, as curl does for large uploads) gets the
  // 413 at once when the length it declares is over the limit, and never sends the body; one that does not
  // send it and is answered mid-body may see its connection closed before it reads the answer.
  server.on("checkContinue", (request, response) => {
    if (Number(request.headers["content-length"]) > options.maxBodyBytes) {
      response.setHeader("connection", "close");
      void write(response, options.tooLarge().toResponse());
      return;
    }
    response.writeContinue();
    server.emit("request", request, response);
  });
  // A client that sends its headers or body slowly cannot hold a connection open for ever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;

  return {
    server,
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      }).catch((error: unknown) => {
        throw new ListenError(port, host, error as NodeJS.ErrnoException);
      });
      return `http://${host}:${(server.address() as AddressInfo).port}`;
    },
    async drain(timeoutMs) {
      draining = true;
      const closed = once(server, "close");
      // net.Server's close stops accepting and nothing more. http.Server's would also destroy every idle
      // keep-alive connection at once, and a request a client has just sent on one, not read yet, would get a
      // reset instead of an answer. Idle connections are closed once a quiet spell shows none is coming.
      NetServer.prototype.close.call(server);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const settled = async () => {
        do {
          if (inProgress > 0) await new Promise<void>((resolve) => (allAnswered = resolve));
          await delay(DRAIN_QUIET_MS);
        } while (inProgress > 0);
        server.close();
        await closed;
        return true;
      };
      const finished = await Promise.race([settled(), timedOut]);
      clearTimeout(timer);
      return finished;
    },
  };
}
