/**
 * Swagger UI at /docs, in Chromium: rendered from the server's own OpenAPI document and files, and "Try it
 * out" classifying uploads on `npm start` (with the API key given to Authorize) and on the batching server's
 * batch route; then the page and /docs behind a stage path, as API Gateway serves them.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startLocalApi, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { launchChromium } from "./support/chromium.js";
import { dropFiles, mixedFiles, oneXray, type PageFile } from "./support/page-files.js";
import { offOrigin, screenshot, watchedPage } from "./support/page-watch.js";
import { startStageProxy, type StageProxy } from "./support/stage-proxy.js";

let api: LocalApiProcess;
let batching: LocalApiProcess;
let proxy: StageProxy;
let browser: Browser;
let xray: PageFile;

beforeAll(async () => {
  [api, batching, browser, xray] = await Promise.all([startLocalApi(), startServer(SERVER_ENTRIES.batching), launchChromium(), oneXray()]);
  proxy = await startStageProxy(api.url, "prod");
});

afterAll(async () => {
  await proxy?.close();
  await browser?.close();
  await Promise.all([api?.stop(), batching?.stop()]);
});

/** Opens an operation, presses "Try it out", gives each file input a file, executes, and returns the answer's status and body. */
async function tryItOut(page: Page, operationId: string, files: readonly PageFile[]): Promise<{ status: string; body: string }> {
  const operation = page.locator(`#operations-default-${operationId}`);
  await operation.locator(".opblock-summary").click();
  await operation.locator(".try-out__btn").click();
  for (const [i, file] of files.entries()) {
    if (i > 0) await operation.locator(".json-schema-form-item-add").click();
    await operation.locator('input[type="file"]').nth(i).setInputFiles({ name: file.name, mimeType: file.type, buffer: file.bytes });
  }
  await operation.locator(".execute").click();
  const response = operation.locator(".live-responses-table .response").first();
  await response.waitFor();
  return {
    status: (await response.locator(".response-col_status").textContent())!.trim(),
    body: (await response.locator(".response-col_description pre").first().textContent())!,
  };
}

describe("Swagger UI at /docs", () => {
  it("renders the server's OpenAPI document from the server's own files, with no request elsewhere and no CSP violation", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    // Act
    await watched.page.goto(`${api.url}/docs`);
    await watched.page.locator(".swagger-ui .info .title").waitFor();
    // Assess
    expect(await watched.page.locator(".swagger-ui .info .title").textContent()).toContain("Pneumonia classifier");
    expect(await watched.page.locator(".opblock-summary-path").allTextContents()).toEqual(
      expect.arrayContaining(["/pneumonia_classifier", "/health", "/openapi.json"]),
    );
    expect(offOrigin(watched.requests, api.url)).toEqual([]);
    expect(watched.cspViolations).toEqual([]);
    expect(watched.errors).toEqual([]);
    await screenshot(watched.page, "docs");
    await watched.close();
  });

  it("classifies an uploaded X-ray with Try it out, sending the key given to Authorize as x-api-key", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    const { page } = watched;
    const keys: (string | undefined)[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") keys.push(request.headers()["x-api-key"]);
    });
    await page.goto(`${api.url}/docs`);
    await page.locator(".btn.authorize").click();
    await page.locator(".auth-container input").fill("key-for-docs");
    await page.locator(".auth-btn-wrapper .authorize").click();
    await page.locator(".btn-done").click();
    // Act
    const answer = await tryItOut(page, "post_pneumonia_classifier", [xray]);
    // Assess
    expect(answer.status).toBe("200");
    expect(JSON.parse(answer.body)).toMatchObject({ prediction: "PNEUMONIA" });
    expect(keys).toEqual(["key-for-docs"]);
    await screenshot(page, "docs-try-it-out");
    await watched.close();
  });

  it("classifies several uploads with Try it out on the batching server's batch route", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    const files = (await mixedFiles()).slice(0, 2);
    await watched.page.goto(`${batching.url}/docs`);
    // Act
    const answer = await tryItOut(watched.page, "post_pneumonia_classifier_batch", files);
    // Assess
    expect(answer.status).toBe("200");
    const { results } = JSON.parse(answer.body);
    expect(results.map((result: { file: string; status: number }) => [result.file, result.status])).toEqual(files.map((file) => [file.name, 200]));
    expect(watched.cspViolations).toEqual([]);
    await watched.close();
  });
});

describe("the page and /docs behind a stage path (/prod/, as API Gateway serves them)", () => {
  it("loads every file and sends every request under the stage path", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    const { page } = watched;
    // Act
    await page.goto(proxy.url);
    await dropFiles(page, [xray]);
    await page.locator("#progress").filter({ hasText: "1 of 1 done" }).waitFor();
    const label = await page.locator(".card .label").textContent();
    await page.getByRole("link", { name: /API documentation/ }).click();
    await page.locator(".swagger-ui .info .title").waitFor();
    const answer = await tryItOut(page, "post_pneumonia_classifier", [xray]);
    // Assess
    expect(label).toBe("PNEUMONIA");
    expect(answer.status).toBe("200");
    expect(page.url()).toBe(`${proxy.url}docs`);
    const origin = new URL(proxy.url).origin;
    expect(offOrigin(watched.requests, origin)).toEqual([]);
    expect(watched.requests.filter((url) => url.startsWith(`${origin}/`) && !url.startsWith(proxy.url))).toEqual([]);
    expect(watched.errors).toEqual([]);
    await watched.close();
  });
});
