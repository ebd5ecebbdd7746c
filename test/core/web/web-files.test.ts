/**
 * The page at /, Swagger UI at /docs and the files they load, as the core serves them on every host: types,
 * the Content-Security-Policy, and that every file a page or script names is served. In process, no browser
 * (npm run test:browser drives the pages in Chromium).
 */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../lambda/core/http/app.js";
import { API_HOSTS } from "../../../lambda/core/http/api-host.js";
import { WEB_CSP, WEB_FILES } from "../../../lambda/core/web/web-files.js";

const ASSETS = new URL("../../../lambda/core/web/assets/", import.meta.url);

/** An app whose model is never asked for: these routes do not classify. */
const app = createApp({ images: () => Promise.reject(new Error("no model needed")) }, API_HOSTS.local);
const get = (path: string) => app({ method: "GET", path, headers: {}, body: Buffer.alloc(0) });

describe.each(Object.entries(API_HOSTS))("the web page and Swagger UI on the %s host", (_name, host) => {
  const hostApp = createApp({ images: () => Promise.reject(new Error("no model needed")) }, host);

  it.each([
    ["/", "text/html; charset=utf-8"],
    ["/docs", "text/html; charset=utf-8"],
    ["/web/app.js", "text/javascript; charset=utf-8"],
    ["/web/app.css", "text/css; charset=utf-8"],
    ["/web/swagger-ui-bundle.js", "text/javascript; charset=utf-8"],
    ["/web/swagger-ui.css", "text/css; charset=utf-8"],
  ])("serves %s as %s with the CSP, no sniffing and no referrer", async (path, type) => {
    // Act
    const response = await hostApp({ method: "GET", path, headers: {}, body: Buffer.alloc(0) });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      "content-type": type,
      "content-security-policy": WEB_CSP,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    });
    expect(response.body.length).toBeGreaterThan(100);
  });
});

describe("the web files", () => {
  it("forbids inline script, other origins, framing and base tags in the CSP", () => {
    // Assess
    const directives = Object.fromEntries(WEB_CSP.split("; ").map((directive) => [directive.split(" ")[0], directive.split(" ").slice(1)]));
    expect(directives["default-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    expect(directives["base-uri"]).toEqual(["'none'"]);
    expect(WEB_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
  });

  it("serves every file the pages and scripts name, by a relative URL, and has no inline script or style", async () => {
    // Prepare: what index.html and docs.html load (web/...), and what the page's modules import (./...)
    const pages = await Promise.all(["/", "/docs"].map(async (path) => (await get(path)).body));
    const scripts = await Promise.all(Object.keys(WEB_FILES).filter((name) => name.endsWith(".js") && !name.startsWith("swagger-ui")).map((name) => readFile(new URL(name, ASSETS), "utf8")));
    const named = [
      ...pages.flatMap((page) => [...page.matchAll(/(?:src|href)="web\/([^"]+)"/g)].map((match) => match[1]!)),
      ...scripts.flatMap((script) => [...script.matchAll(/from "\.\/([^"]+)"/g)].map((match) => match[1]!)),
    ];
    // Act
    const statuses = await Promise.all([...new Set(named)].map(async (name) => [name, (await get(`/web/${name}`)).statusCode]));
    // Assess
    expect(named.length).toBeGreaterThan(8);
    expect(statuses.filter(([, status]) => status !== 200)).toEqual([]);
    for (const page of pages) {
      expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son\w+=|(?:src|href)="(?:\/|https?:)/);
    }
    expect(Object.keys(WEB_FILES).sort()).toEqual([...new Set(named)].sort());
  });

  it.each(["/web/missing.js", "/web/index.html", "/web/__proto__", "/web/..%2Fpackage.json", "/web/", "/web/a/b.js"])(
    "answers %s with a JSON 404",
    async (path) => {
      // Act
      const response = await get(path);
      // Assess
      expect(response.statusCode).toBe(404);
      expect(JSON.parse(response.body).error.code).toBe("NOT_FOUND");
    },
  );

  it("documents the API key the protected routes may need, and a server relative to the document", async () => {
    // Act
    const document = JSON.parse((await createApp({ images: () => Promise.reject(new Error("none")) }, API_HOSTS.batching)({ method: "GET", path: "/openapi.json", headers: {}, body: Buffer.alloc(0) })).body);
    // Assess
    expect(document.servers).toEqual([{ url: ".", description: expect.any(String) }]);
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
    expect(document.paths["/pneumonia_classifier"].post.security).toEqual([{}, { apiKey: [] }]);
    expect(document.paths["/pneumonia_classifier/batch"].post.security).toEqual([{}, { apiKey: [] }]);
    expect(document.paths["/health"].get.security).toBeUndefined();
    expect(document.paths["/"].get.security).toBeUndefined();
  });
});
