import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";

/** The repository root, where npm scripts and the tools run from. */
export const ROOT = join(import.meta.dirname, "..", "..");

/** What a finished command left behind. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root to its end, as a user would type it there, and collects its output. */
export async function runCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  // "close", not "exit": the output may still be in the pipes when the process exits.
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a TypeScript entry point as its npm script does (`node --import tsx <entry>`), without npm's own output. */
export function runEntry(entry: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  return runCommand(process.execPath, ["--import", "tsx", entry, ...args], env);
}
