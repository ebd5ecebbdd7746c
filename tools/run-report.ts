import { execFileSync } from "node:child_process";

/** The q-quantile (0..1) of the values, nearest rank; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The commit under test, and whether lambda/ differs from it, so a report says which code it measured. */
export function codeVersion(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "lambda"], { encoding: "utf8" }).trim();
    return `${commit}${dirty ? " + uncommitted changes in lambda/" : ""}`;
  } catch {
    return "unknown (no git)";
  }
}
