import { createServer, request as httpRequest, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

/** A front that serves a server under a stage path, as API Gateway serves the API under /prod/. */
export interface StageProxy {
  /** The stage's URL, with its trailing slash: http://127.0.0.1:PORT/prod/ */
  url: string;
  close: () => Promise<void>;
}

/**
 * Forwards requests under /<stage>/ to the target with the stage taken off the path, and answers 404 to every
 * other path, so a page that asks for anything by an absolute path (/web/app.js) fails as it would behind API
 * Gateway.
 */
export async function startStageProxy(target: string, stage: string): Promise<StageProxy> {
  const prefix = `/${stage}/`;
  const server: Server = createServer((incoming, outgoing) => {
    if (!incoming.url?.startsWith(prefix)) {
      outgoing.writeHead(404).end();
      return;
    }
    const forwarded = httpRequest(
      new URL(incoming.url.slice(prefix.length - 1), target),
      { method: incoming.method, headers: { ...incoming.headers, host: new URL(target).host } },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on("error", () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${prefix}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
