import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/** A running server process (`npm start` or `npm run start:gpu`) on a free loopback port. */
export interface LocalApiProcess {
  url: string;
  process: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code once the process has exited. */
  stop: () => Promise<number | null>;
}

/** The servers' entry points, as the npm scripts run them. */
export const SERVER_ENTRIES = {
  /** `npm start`: the Lambda handler behind the local front. */
  local: "lambda/serve-local.ts",
  /** `npm run start:gpu`: the batching server. */
  batching: "lambda/serve-gpu.ts",
} as const;

/** Waits for the server's "ready at <url>" line (on stdout or stderr) and returns the URL; rejects if the process exits first. */
export function readyUrl(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at (http:\/\/[^/\s]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before it was ready:\n${output}`)));
  });
}

/**
 * Starts a server as its npm script does (same entry point), on a port the OS picks, and waits until it is
 * ready. Its structured logs (stdout) are dropped unless `keepLogs`, so a long run does not fill a pipe.
 */
export async function startServer(
  entry: (typeof SERVER_ENTRIES)[keyof typeof SERVER_ENTRIES],
  env: NodeJS.ProcessEnv = {},
  { keepLogs = false } = {},
): Promise<LocalApiProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    env: { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "WARN", ...env },
    stdio: ["ignore", keepLogs ? "pipe" : "ignore", "pipe"],
  });
  const url = await readyUrl(child);
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}

/** Starts the local API as `npm start` does. */
export function startLocalApi(): Promise<LocalApiProcess> {
  return startServer(SERVER_ENTRIES.local);
}
