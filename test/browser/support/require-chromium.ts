import { missingChromium } from "./chromium.js";

/** vitest's global set-up for the browser suite: stops the run with one line when there is no Chromium to drive. */
export default function requireChromium(): void {
  const missing = missingChromium();
  if (!missing) return;
  console.error(missing);
  process.exit(1);
}
