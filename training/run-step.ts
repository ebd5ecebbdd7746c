import { spawnSync } from "node:child_process";

/**
 * Runs one step of a training command with the terminal attached; a step that fails ends the command with its
 * exit code, so the later steps never run on a half-made result.
 */
export function runStep(command: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync(command, args, { stdio: "inherit", env: { ...process.env, ...extraEnv } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
