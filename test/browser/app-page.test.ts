/**
 * The page at /, in Chromium, against `npm start`: files dropped on it get their cards in order with the
 * server's answers, the table and its CSV, the heatmap where the server explains, and the page's safety: names
 * as text, no request to another origin, no CSP violation, the key kept for the tab.
 */
import { readFile, rm } from "node:fs/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_ENTRIES, startLocalApi, startServer, type LocalApiProcess } from "../../tools/support/server-process.js";
import { launchChromium } from "./support/chromium.js";
import { FORMULA_NAME, XSS_NAME, answerOf, dropFiles, mixedFiles, oneXray, type PageFile } from "./support/page-files.js";
import { modelWithoutMap } from "./support/model-without-map.js";
import { offOrigin, screenshot, watchedPage, type WatchedPage } from "./support/page-watch.js";

let api: LocalApiProcess;
let browser: Browser;
let files: PageFile[];
let answers: { status: number; body: any }[];

beforeAll(async () => {
  [api, browser, files] = await Promise.all([startLocalApi(), launchChromium(), mixedFiles()]);
  answers = await Promise.all(files.map((file) => answerOf(api.url, file)));
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
});

/** Opens the page, drops every file on it and waits until each has its answer. */
async function classifyAll(options = {}): Promise<WatchedPage> {
  const watched = await watchedPage(browser, options);
  await watched.page.goto(`${api.url}/`);
  await dropFiles(watched.page, files);
  await watched.page.locator("#progress").filter({ hasText: `${files.length} of ${files.length} done` }).waitFor();
  return watched;
}

describe("the web page at /", () => {
  it("gives every file dropped its card in order: the X-rays their label and probability, the others the server's reason", async () => {
    // Act
    const watched = await classifyAll();
    const { page } = watched;
    // Assess
    const cards = page.locator(".card");
    expect(await cards.locator(".card-name").allTextContents()).toEqual(files.map((file) => file.name));
    for (const [i, { status, body }] of answers.entries()) {
      const card = cards.nth(i);
      if (status === 200) {
        expect(await card.getAttribute("data-state")).toBe("classified");
        expect(await card.locator(".label").textContent()).toBe(body.prediction);
        expect(await card.locator("meter").evaluate((meter: HTMLMeterElement) => meter.value)).toBeCloseTo(body.probability, 6);
      } else {
        expect(await card.getAttribute("data-state")).toBe("refused");
        expect(await card.locator(".card-status").textContent()).toBe(`Refused (HTTP ${status}): ${body.error.message}`);
      }
    }
    for (const [i, file] of files.entries()) {
      // A file the browser cannot show (DICOM) gets a placeholder in place of the X-ray.
      const unshown = file.name.endsWith(".dcm");
      expect(await cards.nth(i).locator("img.xray").isVisible(), file.name).toBe(!unshown);
      expect(await cards.nth(i).locator(".placeholder").count(), file.name).toBe(unshown ? 1 : 0);
    }
    const refused = answers.filter(({ status }) => status !== 200).length;
    expect(refused).toBeGreaterThanOrEqual(3);
    expect(await page.locator("#progress").textContent()).toBe(`${files.length} of ${files.length} done, ${refused} refused.`);
    expect(await page.textContent("body")).toContain("Not a medical device.");
    await screenshot(page, "app-page-laptop");
    await watched.close();
  });

  it("shows a file named as HTML as text and runs nothing, sends nothing to another origin and breaks no rule of its CSP", async () => {
    // Act
    const watched = await classifyAll();
    // Assess
    const names = await watched.page.locator(".card-name").allTextContents();
    expect(names).toContain(XSS_NAME);
    expect(await watched.page.locator('img[src="x"]').count()).toBe(0);
    expect(await watched.page.locator("#results tbody th").allTextContents()).toContain(XSS_NAME);
    expect(watched.dialogs).toEqual([]);
    expect(watched.errors).toEqual([]);
    expect(watched.cspViolations).toEqual([]);
    expect(offOrigin(watched.requests, api.url)).toEqual([]);
    expect(watched.requests.filter((url) => url.includes("/pneumonia_classifier"))).toHaveLength(files.length);
    await watched.close();
  });

  it("lists every result in the table and downloads them as CSV, a name starting with = escaped", async () => {
    // Prepare
    const watched = await classifyAll();
    const { page } = watched;
    // Act
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-csv")]);
    const csv = await readFile((await download.path())!, "utf8");
    // Assess
    expect(await page.locator("#results tbody tr").count()).toBe(files.length);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toBe('"file","label","probability_normal","probability_pneumonia","status","error"');
    expect(lines).toHaveLength(files.length + 1);
    for (const [i, { status, body }] of answers.entries()) {
      const expected = status === 200
        ? [files[i]!.name, body.prediction, body.probabilities.NORMAL, body.probabilities.PNEUMONIA, 200, ""]
        : [files[i]!.name, "", "", "", status, body.error.message];
      const cells = expected.map((cell) => `"${String(cell).replace(/^([=+\-@])/, "'$1").replaceAll('"', '""')}"`);
      expect(lines[i + 1]).toBe(cells.join(","));
    }
    expect(csv).toContain(`"'${FORMULA_NAME}"`);
    await watched.close();
  });

  it("lays each classified X-ray's heatmap over it, with a toggle and an opacity slider", async () => {
    // Act
    const watched = await classifyAll();
    const { page } = watched;
    // Assess
    const explained = answers.filter(({ body }) => body.explanation).length;
    expect(explained).toBe(answers.filter(({ status }) => status === 200).length);
    expect(await page.locator(".card canvas.heatmap").count()).toBe(explained);
    expect(await page.locator(".heatmap-controls").count()).toBe(explained);
    const card = page.locator(".card", { has: page.locator("canvas.heatmap") }).first();
    const canvas = card.locator("canvas.heatmap");
    const { width, height } = answers.find(({ body }) => body.explanation)!.body.explanation!;
    expect(await canvas.evaluate((node: HTMLCanvasElement) => [node.width, node.height])).toEqual([width, height]);
    // Painted: where the evidence is strongest, nearly opaque.
    const alphas = await canvas.evaluate((node: HTMLCanvasElement) => [...node.getContext("2d")!.getImageData(0, 0, node.width, node.height).data.filter((_v, i) => i % 4 === 3)]);
    expect(Math.max(...alphas)).toBeGreaterThan(128);
    await card.getByLabel("Opacity").fill("0.25");
    expect(await canvas.evaluate((node: HTMLCanvasElement) => node.style.opacity)).toBe("0.25");
    await card.getByLabel("Show heatmap").uncheck();
    expect(await canvas.isHidden()).toBe(true);
    await screenshot(page, "app-page-heatmap");
    await watched.close();
  });

  it("keeps the API key in the tab's session storage only, and sends it as x-api-key", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${api.url}/`);
    const sent: (string | undefined)[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST") sent.push(request.headers()["x-api-key"]);
    });
    // Act
    await page.fill("#api-key", "key-for-this-tab");
    await page.reload();
    await dropFiles(page, [await oneXray()]);
    await page.locator("#progress").filter({ hasText: "1 of 1 done" }).waitFor();
    // Assess
    expect(await page.inputValue("#api-key")).toBe("key-for-this-tab");
    expect(sent).toEqual(["key-for-this-tab"]);
    expect(await page.evaluate(() => [localStorage.length, document.cookie, location.href])).toEqual([0, "", `${api.url}/`]);
    const otherTab = await watchedPage(browser);
    await otherTab.page.goto(`${api.url}/`);
    expect(await otherTab.page.inputValue("#api-key")).toBe("");
    await otherTab.close();
    await watched.close();
  });

  it("can be worked by keyboard: every control is reached by Tab and has a label", async () => {
    // Prepare
    const watched = await classifyAll();
    const { page } = watched;
    const controls = await page.locator("a, button, input").count();
    // Act: Tab through the page from its start
    const reached = new Set<string>();
    await page.locator("body").focus();
    for (let i = 0; i < controls + 5; i++) {
      await page.keyboard.press("Tab");
      reached.add(await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80) ?? ""));
    }
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, button")].filter((node) => !((node as HTMLInputElement).labels?.length || node.textContent?.trim())).map((node) => node.outerHTML),
    );
    // Assess
    for (const selector of ["a[href='docs']", "#files", "#api-key", "#download-csv"]) {
      const html = await page.locator(selector).evaluate((node) => node.outerHTML.slice(0, 80));
      expect(reached, selector).toContain(html);
    }
    expect(unlabelled).toEqual([]);
    await watched.close();
  });

  it("fits a phone's width without scrolling sideways", async () => {
    // Act
    const watched = await classifyAll({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const { page } = watched;
    // Assess
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
    await screenshot(page, "app-page-phone");
    await watched.close();
  });
});

describe("the web page against a model without a class activation map", () => {
  let modelDir: string;
  let plain: LocalApiProcess;

  beforeAll(async () => {
    modelDir = await modelWithoutMap();
    plain = await startServer(SERVER_ENTRIES.local, { MODEL_DIR: modelDir });
  });

  afterAll(async () => {
    await plain?.stop();
    if (modelDir) await rm(modelDir, { recursive: true, force: true });
  });

  it("asks for the heatmap once, then classifies without it and shows no heatmap control", async () => {
    // Prepare
    const watched = await watchedPage(browser);
    const { page } = watched;
    const xrays = [await oneXray(), { ...(await oneXray()), name: "again.jpeg" }];
    await page.goto(`${plain.url}/`);
    // Act
    for (const file of xrays) {
      await dropFiles(page, [file]);
      await page.locator(".card").last().and(page.locator("[data-state='classified']")).waitFor();
    }
    // Assess
    expect(await page.locator(".card .label").allTextContents()).toEqual(["PNEUMONIA", "PNEUMONIA"]);
    expect(await page.locator("canvas.heatmap, .heatmap-controls").count()).toBe(0);
    const posts = watched.requests.filter((url) => url.includes("/pneumonia_classifier"));
    expect(posts).toEqual([`${plain.url}/pneumonia_classifier?explain=true`, `${plain.url}/pneumonia_classifier`, `${plain.url}/pneumonia_classifier`]);
    await watched.close();
  });
});
