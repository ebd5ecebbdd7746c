import { connect, createServer as createNetServer } from "node:net";
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { appHandler, createNodeHttpFront, type HttpHandler, type NodeHttpFront, type NodeHttpOptions } from "../../lambda/adapters/node-http.js";
import { ListenError } from "../../lambda/adapters/listen-error.js";
import { ERROR_CODES, PayloadTooLargeError, TemporarilyUnavailableError, UnusableImageError } from "../../lambda/core/errors.js";
import { jsonResponse } from "../../lambda/core/http/http-types.js";
import { rawClient, rawRequest } from "../support/raw-request.js";

const LIMITS: NodeHttpOptions = {
  maxBodyBytes: 64 * 1024,
  tooLarge: () => new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, "The request body is over 64 KiB; send a smaller image."),
};

let front: NodeHttpFront | undefined;
afterEach(async () => {
  await front?.drain(1000);
  front = undefined;
});

async function serve(handle: HttpHandler, options: NodeHttpOptions = LIMITS): Promise<string> {
  front = createNodeHttpFront(handle, options);
  return front.listen(0, "127.0.0.1");
}

/** Sends a request; the answer's body parsed as JSON. */
async function send(url: string, body: Buffer, headers: OutgoingHttpHeaders | string[] = {}) {
  const answer = await rawRequest(url, body, headers);
  return { ...answer, json: JSON.parse(answer.body || "null") };
}

/** A promise and the function that settles it, so a test decides when a handler answers. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const ok = async () => jsonResponse(200, { ok: true });

/**
 * Sends the whole body without asking first, as most clients do, however early the server answers: the
 * answer's status, and the connection's error if there was one (EPIPE, ECONNRESET), even after the answer.
 */
function sendWholeBody(url: string, body: Buffer, headers: OutgoingHttpHeaders): Promise<{ status?: number; error?: Error }> {
  return new Promise((resolve) => {
    const outgoing = httpRequest(url, { method: "POST", headers });
    let status: number | undefined;
    outgoing.on("response", (response) => {
      status = response.statusCode;
      response.resume();
    });
    outgoing.on("error", (error) => resolve({ status, error }));
    outgoing.on("close", () => resolve({ status }));
    outgoing.end(body);
  });
}

describe("createNodeHttpFront", () => {
  it("answers with what the handler returns, given the whole body", async () => {
    // Prepare
    const url = await serve(async (_request, body) => jsonResponse(200, { bytes: body.length }));
    // Act
    const answer = await send(url, Buffer.alloc(50_000, 7));
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ bytes: 50_000 });
  });

  it("refuses a body over the limit with the host's 413, without calling the handler, and closes the connection", async () => {
    // Prepare
    let called = false;
    const url = await serve(async () => ((called = true), jsonResponse(200, {})));
    // Act
    const answer = await send(url, Buffer.alloc(LIMITS.maxBodyBytes + 1));
    // Assess
    expect(answer.status).toBe(413);
    expect(answer.json.error.message).toBe("The request body is over 64 KiB; send a smaller image.");
    expect(answer.headers.connection).toBe("close");
    expect(called).toBe(false);
  });

  it("refuses a declared body over the limit before it is sent when the client asks first (Expect: 100-continue)", async () => {
    // Prepare
    let called = false;
    const url = await serve(async () => ((called = true), ok()));
    const { port } = new URL(url);
    // Act: headers only; a server that said 100 Continue would wait for the body instead of answering
    const client = connect(Number(port), "127.0.0.1");
    let received = "";
    client.on("data", (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.on("error", () => undefined);
    client.write(`POST /x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: ${LIMITS.maxBodyBytes + 1}\r\n\r\n`);
    await closed;
    // Assess
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).not.toContain("100 Continue");
    expect(received).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(called).toBe(false);
  });

  it("lets a client that asks first send a body within the limit (100 Continue) and answers it", async () => {
    // Prepare
    const url = await serve(async (_request, body) => jsonResponse(200, { bytes: body.length }));
    // Act
    const answer = await send(url, Buffer.alloc(1000, 1), { expect: "100-continue" });
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ bytes: 1000 });
  });

  it("refuses a request with 503 OVERLOADED and Retry-After while the bodies held would go over the budget", async () => {
    // Prepare: the first request's body stays held until its handler answers, which the test decides
    const held = gate();
    const entered = gate();
    const url = await serve(
      async (_request, body) => {
        if (body.length === 40_000) {
          entered.open();
          await held.opened;
        }
        return jsonResponse(200, { bytes: body.length });
      },
      { ...LIMITS, maxBufferedBytes: 60_000 },
    );
    const first = send(url, Buffer.alloc(40_000));
    await entered.opened;
    // Act
    const refused = await send(url, Buffer.alloc(30_000));
    held.open();
    const afterwards = await send(url, Buffer.alloc(30_000));
    // Assess
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe("OVERLOADED");
    expect(refused.headers["retry-after"]).toBe("1");
    expect((await first).status).toBe(200);
    expect(afterwards.status).toBe(200);
  });

  it("refuses from the headers when the host says so, before any body is sent: a client that sends headers only gets its 503 at once", async () => {
    // Prepare
    let called = false;
    const full = () => new TemporarilyUnavailableError(ERROR_CODES.overloaded, "Full; retry after 3 s.", 3);
    const url = await serve(async () => ((called = true), ok()), { ...LIMITS, refuseEarly: full });
    const { client, received, closed } = rawClient(url);
    // Act: headers that announce a body, which never comes
    client.write(`POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${LIMITS.maxBodyBytes}\r\n\r\n`);
    await expect.poll(() => received()).toMatch(/"code":"OVERLOADED"/);
    // Assess
    expect(received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(received()).toMatch(/^retry-after: 3\r$/im);
    expect(received()).toMatch(/^connection: close\r$/im);
    expect(called).toBe(false);
    client.end();
    await closed;
  });

  it("answers a refused client that is still sending its body, rather than resetting it, and discards the body", async () => {
    // Prepare: a body far larger than the kernel buffers between client and server, sent without asking first
    const refuseEarly = () => new TemporarilyUnavailableError(ERROR_CODES.overloaded, "Full; retry after 1 s.", 1);
    const url = await serve(ok, { ...LIMITS, maxBodyBytes: 16 * 1024 * 1024, refuseEarly });
    // Act
    const outcome = await sendWholeBody(url, Buffer.alloc(8 * 1024 * 1024), { "content-length": 8 * 1024 * 1024 });
    // Assess
    expect(outcome).toEqual({ status: 503 });
  });

  it("answers a body over the limit sent without asking first with its 413, not a reset", async () => {
    // Prepare
    const url = await serve(ok);
    // Act: no declared length, so the limit is found mid-body
    const outcome = await sendWholeBody(url, Buffer.alloc(4 * 1024 * 1024), { "transfer-encoding": "chunked" });
    // Assess
    expect(outcome).toEqual({ status: 413 });
  });

  it("never serves a request pipelined behind a refused one on the same connection", async () => {
    // Prepare
    const served: string[] = [];
    const refuseEarly = (request: IncomingMessage) =>
      request.url === "/refused" ? new TemporarilyUnavailableError(ERROR_CODES.overloaded, "Full; retry after 1 s.", 1) : undefined;
    const url = await serve(async (request) => (served.push(request.url!), ok()), { ...LIMITS, refuseEarly });
    const { client, received, closed } = rawClient(url);
    // Act: two requests in one write, the first refused
    client.write("POST /refused HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx" + "POST /next HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx");
    client.end();
    await closed;
    // Assess
    expect(received().match(/^HTTP\/1\.1 /gm)).toEqual(["HTTP/1.1 "]);
    expect(received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(served).toEqual([]);
  });

  it("answers an ApiError the handler throws as itself, and anything else as 500 without its message", async () => {
    // Prepare
    const url = await serve(async (request) => {
      if (request.url === "/refuse") throw new UnusableImageError("The JPEG is truncated; send the whole file.");
      throw new Error("ECONNRESET deep inside");
    });
    // Act
    const refused = await send(`${url}/refuse`, Buffer.from("x"));
    const failed = await send(`${url}/fail`, Buffer.from("x"));
    // Assess
    expect([refused.status, refused.json.error.code]).toEqual([422, "UNUSABLE_IMAGE"]);
    expect([failed.status, failed.json.error.code]).toEqual([500, "INTERNAL_ERROR"]);
    expect(failed.json.error.message).not.toContain("ECONNRESET");
  });

  it("gives the app a repeated header's values joined in order, under its lower-cased name", async () => {
    // Prepare
    const url = await serve(appHandler(async (request) => jsonResponse(200, request.headers)));
    // Raw header lines: HTTP/1.1 wants Host, which Node adds only to a header object.
    const lines = ["Host", new URL(url).host, "Content-Encoding", "identity", "content-encoding", "gzip"];
    // Act
    const answer = await send(url, Buffer.alloc(0), lines);
    // Assess
    expect(answer.json["content-encoding"]).toBe("identity, gzip");
  });

  it("answers the requests in progress when drained, closing their connections, and then stops", async () => {
    // Prepare
    const held = gate();
    const entered = gate();
    const url = await serve(async () => {
      entered.open();
      await held.opened;
      return ok();
    });
    const inProgress = send(url, Buffer.from("x"));
    await entered.opened;
    // Act
    const drained = front!.drain(5000);
    held.open();
    // Assess
    const answer = await inProgress;
    expect(answer.status).toBe(200);
    expect(answer.headers.connection).toBe("close");
    expect(await drained).toBe(true);
    await expect(send(url, Buffer.from("x"))).rejects.toThrow();
  });

  it("answers a request sent on an idle keep-alive connection just as the server drains", async () => {
    // Prepare: a keep-alive connection whose first request is answered, so the server counts it idle
    const url = await serve(ok);
    const client = connect(Number(new URL(url).port), "127.0.0.1");
    let received = "";
    client.on("data", (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => client.on("close", () => resolve()));
    client.on("error", () => undefined);
    const request = "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx";
    client.write(request);
    // The answer is chunked: it is whole at the last chunk.
    await expect.poll(() => received).toMatch(/\r\n0\r\n\r\n$/);
    // Act: the next request goes out, and the drain starts in the same turn, before the server has read it
    client.write(request);
    const drained = front!.drain(5000);
    await closed;
    // Assess
    expect(received.match(/^HTTP\/1\.1 200 /gm)).toHaveLength(2);
    expect(received).toMatch(/connection: close/i);
    expect(await drained).toBe(true);
  });

  it("fails to listen on a port in use with a ListenError naming the port and PORT", async () => {
    // Prepare
    const occupant = createNetServer().listen(0, "127.0.0.1");
    await once(occupant, "listening");
    const port = (occupant.address() as { port: number }).port;
    try {
      // Act
      const error = await createNodeHttpFront(ok, LIMITS).listen(port, "127.0.0.1").catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ListenError);
      expect((error as Error).message).toMatch(new RegExp(`^Port ${port} on 127\\.0\\.0\\.1 is in use.*PORT=`));
    } finally {
      occupant.close();
    }
  });
});
