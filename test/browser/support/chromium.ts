import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** The Chromium the browser tests drive: CHROMIUM_PATH, or Debian's package. playwright-core never downloads one. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

/** Why the browser tests cannot run here, in one line; undefined when Chromium is where it is looked for. */
export function missingChromium(): string | undefined {
  const path = chromiumPath();
  if (existsSync(path)) return undefined;
  return `npm run test:browser needs Chromium at ${path}: install it (apt-get install -y chromium) or set CHROMIUM_PATH to its executable.`;
}

/** Starts the system's Chromium, headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath() });
}
