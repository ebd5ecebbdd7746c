import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";

/** Where the tests' screenshots go (gitignored). */
export const SCREENSHOTS = join(import.meta.dirname, "..", "screenshots");

/** A page, with what it did that a test must see: every request, dialogs opened, CSP violations, script errors. */
export interface WatchedPage {
  page: Page;
  requests: string[];
  dialogs: string[];
  cspViolations: string[];
  errors: string[];
  close: () => Promise<void>;
}

/** Opens a page in a fresh context (its own session storage) and records what it does. */
export async function watchedPage(browser: Browser, options: BrowserContextOptions = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  const watched: WatchedPage = { page, requests: [], dialogs: [], cspViolations: [], errors: [], close: () => context.close() };
  page.on("request", (request) => watched.requests.push(request.url()));
  page.on("dialog", (dialog) => {
    watched.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) watched.cspViolations.push(message.text());
  });
  page.on("pageerror", (error) => watched.errors.push(error.message));
  return watched;
}

/** Saves a full-page screenshot as test/browser/screenshots/<name>.jpeg (JPEG: smaller than PNG, for the README). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.jpeg`), fullPage: true, type: "jpeg", quality: 70 });
}

/** Requests that left the page's origin; object URLs of its own (blob:) and data: URLs stay on the page. */
export function offOrigin(requests: readonly string[], origin: string): string[] {
  return requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith(`blob:${origin}/`) && !url.startsWith("data:"));
}
