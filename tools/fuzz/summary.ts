import { readFileSync } from "node:fs";
import { IMAGE_LIMITS } from "../../lambda/core/limits.js";
import { quantile } from "../run-report.js";
import type { CampaignOptions, CampaignResult } from "./campaign.js";
import { describeFinding, labelOf } from "./finding.js";
import { MB } from "./worker-host.js";
import type { WorkerHost } from "./worker-host.js";

const totals = (result: CampaignResult) => ({
  crashes: result.targets.reduce((sum, t) => sum + result.stats[t].crashes, 0),
  timeouts: result.targets.reduce((sum, t) => sum + result.stats[t].timeouts, 0),
});

/** 1 when the run found anything (a crash, timeout, canary failure or a seed not accepted as expected), else 0. */
export function exitCodeOf(result: CampaignResult): number {
  const { crashes, timeouts } = totals(result);
  return crashes + timeouts + result.canaryFailures > 0 || result.seedProblems.length > 0 ? 1 : 0;
}

/** The summary printed at the end of a run: per-target outcomes and timings, each crash signature, memory, mutations used. */
export function formatSummary(options: CampaignOptions & { maxOldMb: number }, seedCount: number, result: CampaignResult, host: WorkerHost): string {
  const { seed, target, seconds, slowMs, maxRssMb, maxOldMb, outDir } = options;
  const { targets, stats, slowest, signatures, slowCases, codeAtStart, codeAtEnd, seedProblems } = result;
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0) / 1024;
  const { crashes: totalCrashes, timeouts: totalTimeouts } = totals(result);
  const lines = [
    `fuzz summary: seed ${seed}, target ${target}, ${result.ran.toFixed(1)} s run (asked ${seconds} s), node ${process.version}, ${seedCount} seeds`,
    `  code: ${codeAtStart}${codeAtEnd !== codeAtStart ? ` at start, ${codeAtEnd} at the end (workers restarted since then load the new code)` : ""}; image limits ${IMAGE_LIMITS.maxSide} px a side, ${IMAGE_LIMITS.maxPixels / 1e6} MP`,
    `  seeds accepted as expected: ${seedProblems.length === 0 ? "all" : `NO: ${seedProblems.join("; ")}`}`,
  ];
  for (const t of targets) {
    const s = stats[t];
    const sorted = s.times.slice().sort((a, b) => a - b);
    const refused = [...s.refused.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
    lines.push(
      `  ${t}: ${s.inputs} inputs tried; resolved ${s.resolved}; refused ${s.inputs - s.resolved - s.crashes - s.timeouts} (${refused || "none"}); crashes ${s.crashes}; timeouts ${s.timeouts}; slow (>= ${slowMs} ms) ${s.slow}`,
      `    time per input: p50 ${quantile(sorted, 0.5).toFixed(2)} ms, p99 ${quantile(sorted, 0.99).toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`,
      `    slowest: ${slowest[t] ? `${slowest[t]!.ms.toFixed(1)} ms, ${slowest[t]!.label}${slowest[t]!.file ? ` (saved ${slowest[t]!.file})` : ""}` : "n/a"}`,
    );
  }
  lines.push(`  crashes: ${totalCrashes}, timeouts: ${totalTimeouts}, unique signatures: ${signatures.size}`);
  for (const [signature, entry] of signatures) {
    const how =
      entry.repeatsToReproduce !== undefined && entry.repeatsToReproduce > 1
        ? ` (after running it ${entry.repeatsToReproduce} times)`
        : entry.historyDir
          ? `; after replaying the ${entry.reproducedAfterHistory} inputs the worker ran before it: true (${entry.historyDir})`
          : "";
    lines.push(`    [${entry.kind}] x${entry.count}, reproduces alone in a fresh worker: ${entry.reproduced}${how} — ${signature}`);
    lines.push(`      first: ${labelOf(entry.first.input)}`, `      what: ${describeFinding(entry.first)}`);
    if (entry.first.error?.stack) lines.push(...entry.first.error.stack.split("\n").slice(0, 8).map((l) => `      ${l}`));
    lines.push(`      saved: ${entry.files.join(", ")}`);
  }
  lines.push(
    `  peak RSS: ${(host.peakRss / MB).toFixed(0)} MB sampled every 25 ms (during ${host.peakRssInput ?? "no input"}); process VmHWM ${hwm.toFixed(0)} MB; worker heap cap ${maxOldMb} MB, RSS cap ${maxRssMb} MB`,
    `  worker restarts: ${host.restarts}; canary checks ${result.canaries}, failures ${result.canaryFailures}; late escapes after an answer: ${[...signatures.values()].filter((e) => e.kind.startsWith("late-")).length}`,
    `  slow inputs saved: ${slowCases.length}${slowCases.length ? ` (top: ${slowCases.sort((a, b) => b.ms - a.ms).slice(0, 3).map((c) => `${c.ms.toFixed(0)} ms ${c.file}`).join("; ")})` : ""}`,
    `  mutations used: ${[...result.mutationUse.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    `  findings: ${outDir}/ (${signatures.size === 0 ? "no crashes" : `${[...signatures.values()].reduce((n, e) => n + e.files.length, 0)} crash inputs`})`,
  );
  return lines.join("\n");
}
