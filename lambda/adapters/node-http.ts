import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
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

/**
 * The lingering close after a refusal: how long the connection is kept half-open, reading and discarding what
 * the client still sends, so that it reads the answer rather than a reset, and how much it may send. Two
 * seconds is plenty for a body of a few MiB on any network a client of this service is on; the bytes are the
 * host's body limit, or 16 MiB where that is lower (more than API Gateway lets through), so that a body just
 * over the limit is still discarded whole.
 */
const LINGER = { ms: 2000, minBytes: 16 * 2 ** 20 } as const;

/** Answers one request once its body is read; throws an ApiError to refuse it. */
export type HttpHandler = (request: IncomingMessage, body: Buffer) => Promise<HttpAnswer>;

/** Limits the front applies before its handler sees a request. */
export interface NodeHttpOptions {
  /** Largest body of one request; past it, `tooLarge` is the answer and the connection is closed. */
  maxBodyBytes: number;
  /** The 413 of a body over maxBodyBytes, saying what to do on this host. */
  tooLarge: () => ApiError;
  /** Bytes of bodies held at once across requests; past it, `bufferFull` is the answer. @default - no bound but maxBodyBytes a request */
  maxBufferedBytes?: number;
  /** The 503 of a request whose body would go over maxBufferedBytes. @default - OVERLOADED with Retry-After: 1 */
  bufferFull?: () => ApiError;
  /**
   * Judges a request from its headers, before any of its body is read: the refusal to answer at once (503 while
   * the host is full, say), or undefined to read the body; a promise of either while the host makes the
   * request wait, its body unread. @default - every request within the limits is read
   */
  refuseEarly?: (request: IncomingMessage) => ApiError | undefined | Promise<ApiError | undefined>;
  /** Told of each refusal the front answers itself (413, `bufferFull`), for the host's metrics. @default - none */
  onRefused?: (request: IncomingMessage, refusal: ApiError) => void;
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
    // A client gone by now never lets the answer finish: its close settles it instead.
    response.once("close", resolve);
    response.writeHead(statusCode, headers);
    response.end(body, resolve);
  });
}

/**
 * Answers a refusal and closes the connection without reading the body into memory. Node would destroy the
 * socket as soon as a `Connection: close` answer is written (socket.destroySoon), and a client still sending
 * its body would then get a reset, which most clients report as EPIPE or ECONNRESET instead of the answer. So
 * the close lingers: answer, half-close, discard what the client still sends for LINGER.ms or up to
 * `maxBytes`, then destroy. Requests pipelined behind the refused one are never served (`lingering`).
 */
function refuse(request: IncomingMessage, response: ServerResponse, refusal: ApiError, maxBytes: number, lingering: WeakSet<Socket>): Promise<void> {
  const socket = request.socket;
  lingering.add(socket);
  let discarded = 0;
  request.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > maxBytes) socket.destroy();
  });
  request.on("error", () => undefined);
  socket.destroySoon = () => {
    socket.end();
    const timer = setTimeout(() => socket.destroy(), LINGER.ms);
    socket.once("close", () => clearTimeout(timer));
  };
  response.setHeader("connection", "close");
  return write(response, refusal.toResponse());
}

/**
 * The Node HTTP front of `npm start` and of the batching server: judges each request from its headers
 * (declared length, the host's refuseEarly), reads its body within the limits, hands it to the host's
 * handler, and writes the answer; an ApiError thrown on the way is answered as itself, anything else as 500.
 * Bodies are bounded one by one and, with maxBufferedBytes, all together, so no client can exhaust memory;
 * a refused request's body is never held, and its connection is closed (lingering, see `refuse`).
 */
export function createNodeHttpFront(handle: HttpHandler, options: NodeHttpOptions): NodeHttpFront {
  const budget = options.maxBufferedBytes === undefined ? undefined : new ByteBudget(options.maxBufferedBytes);
  const bufferFull =
    options.bufferFull ?? (() => new TemporarilyUnavailableError(ERROR_CODES.overloaded, "The server holds as many uploads as it may right now; retry after a second.", 1));
  const lingering = new WeakSet<Socket>();
  let inProgress = 0;
  let draining = false;
  let allAnswered: (() => void) | undefined;

  /** A refusal decided from the headers, and whether it is the front's own (a declared length over a limit) or the host's. */
  type Verdict = { refusal: ApiError; own: boolean } | undefined;

  async function judge(request: IncomingMessage): Promise<Verdict> {
    const declared = Number(request.headers["content-length"]);
    if (declared > options.maxBodyBytes) return { refusal: options.tooLarge(), own: true };
    if (budget && declared > budget.left) return { refusal: bufferFull(), own: true };
    const early = await options.refuseEarly?.(request);
    return early && { refusal: early, own: false };
  }

  function refuseWith(request: IncomingMessage, response: ServerResponse, { refusal, own }: NonNullable<Verdict>): Promise<void> {
    if (own) options.onRefused?.(request, refusal);
    return refuse(request, response, refusal, Math.max(LINGER.minBytes, options.maxBodyBytes), lingering);
  }

  async function answer(request: IncomingMessage, response: ServerResponse, judged: Promise<Verdict>): Promise<void> {
    const verdict = await judged;
    if (verdict) return refuseWith(request, response, verdict);
    const read = await readBody(request, options.maxBodyBytes, budget);
    if ("refused" in read) return refuseWith(request, response, { refusal: read.refused === "too-large" ? options.tooLarge() : bufferFull(), own: true });
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

  function serve(request: IncomingMessage, response: ServerResponse, judged: Promise<Verdict>): void {
    inProgress++;
    answer(request, response, judged)
      .catch(() => {
        // Every error is answered above; reaching here means the connection broke mid-request.
        if (!response.headersSent) void write(response, new InternalError("The server failed to answer; send the request again.").toResponse());
        else response.destroy();
      })
      .finally(() => {
        inProgress--;
        if (inProgress === 0) allAnswered?.();
      });
  }

  const server = createServer((request, response) => {
    // A request pipelined behind a refused one, on a connection that is closing: never served.
    if (lingering.has(request.socket)) return;
    serve(request, response, judge(request));
  });
  // A client that asks before sending its body (Expect: 100-continue, as curl does for large uploads) is judged
  // from its headers first, and a refused one never sends the body.
  server.on("checkContinue", (request, response) => {
    if (lingering.has(request.socket)) return;
    serve(
      request,
      response,
      judge(request).then((verdict) => {
        if (!verdict) response.writeContinue();
        return verdict;
      }),
    );
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
