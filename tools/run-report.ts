import { execFileSync } from "node:child_process";

/** The q-quantile (0..1) of the values, nearest rank; NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * Runs `work` on every item `rounds` times, after one warm-up pass that is not counted, one call at a time;
 * each call's milliseconds, sorted.
 */
export async function timeRounds<T>(items: readonly T[], rounds: number, work: (item: T) => unknown): Promise<number[]> {
  for (const item of items) await work(item);
  const times = [];
  for (let round = 0; round < rounds; round++) {
    for (const item of items) {
      const started = performance.now();
      await work(item);
      times.push(performance.now() - started);
    }
  }
  return times.sort((a, b) => a - b);
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
