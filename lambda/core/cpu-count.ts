import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";

/** CPUs allowed by a cgroup quota (v2 cpu.max, else v1 cfs files), or undefined when there is none. */
function cgroupCpuQuota(): number | undefined {
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read("/sys/fs/cgroup/cpu.max")?.split(/\s+/);
  const [quota, period] = v2 ?? [read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")];
  const cpus = Number(quota) / Number(period);
  return Number.isFinite(cpus) && cpus > 0 ? cpus : undefined;
}

/**
 * CPUs this process can really use: the scheduler affinity, capped by a container's CPU quota,
 * which os.availableParallelism() does not see on every Node version.
 */
export function usableCpuCount(): number {
  return Math.max(1, Math.floor(Math.min(availableParallelism(), cgroupCpuQuota() ?? Infinity)));
}
