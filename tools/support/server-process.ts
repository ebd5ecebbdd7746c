import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/** A running server process (`npm start` or `npm run start:gpu`) on a free loopback port. */
export interface LocalApiProcess {
  url: string;
  process: ChildProcess;
  /** What it has written so far: stderr (where Powertools writes WARN and ERROR), and stdout with keepLogs. */
  logs: () => string;
  /** Sends SIGTERM and resolves with the exit code once the process has exited. */
  stop: () => Promise<number | null>;
}

/** The servers' entry points, as the npm scripts run them. */
export const SERVER_ENTRIES = {
  /** `npm start`: the Lambda handler behind the local front. */
  local: "lambda/serve-local.ts",
  /**
   * The batching server from its source, under tsx: the code `npm run start:gpu` bundles and runs. Tests start
   * this one, so a test run needs no build (test/lambda/bundle.test.ts starts the bundle).
   */
  batching: "lambda/serve-gpu.ts",
  /** `npm run start:gpu` and the GPU image: the bundle `npm run build` writes, on plain Node (build it first: buildBundles). */
  batchingBundle: "dist/lambda/gpu-server.mjs",
} as const;

/** Builds the bundles (`npm run build`), as `npm run start:gpu` does before it starts SERVER_ENTRIES.batchingBundle. */
export function buildBundles(): void {
  execFileSync("npm", ["run", "build"], { stdio: "ignore" });
}

/** The line a server prints once it serves, with its URL. */
export const SERVING_LINES = {
  /** The model is loaded and warm. */
  ready: /ready at (http:\/\/[^/\s]+)/,
  /** Up, but its model could not be loaded: it answers 503 MODEL_UNAVAILABLE. */
  cannotClassify: /at (http:\/\/[^/\s]+) cannot classify/,
} as const;

/** Waits for a serving line (on stdout or stderr) and returns its URL; rejects if the process exits first. */
export function readyUrl(child: ChildProcess, line: RegExp = SERVING_LINES.ready): Promise<string> {
  let output = "";
  return new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = line.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before it was ready:\n${output}`)));
  });
}

/**
 * Starts a server as its npm script (or image, for a bundle) does, on a port the OS picks, and waits for its
 * serving line (`until`, ready by default). Its structured logs (stdout) are dropped unless `keepLogs`, so a
 * long run does not fill a pipe.
 */
export async function startServer(
  entry: (typeof SERVER_ENTRIES)[keyof typeof SERVER_ENTRIES],
  env: NodeJS.ProcessEnv = {},
  { keepLogs = false, until = SERVING_LINES.ready } = {},
): Promise<LocalApiProcess> {
  // TypeScript entries run under tsx as the npm scripts run them; a bundle runs on plain Node, as start:gpu and the images run it.
  const args = entry.endsWith(".ts") ? ["--import", "tsx", entry] : [entry];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "WARN", ...env },
    stdio: ["ignore", keepLogs ? "pipe" : "ignore", "pipe"],
  });
  let logs = "";
  for (const stream of [child.stdout, child.stderr]) stream?.on("data", (chunk: Buffer) => (logs += chunk.toString()));
  const url = await readyUrl(child, until);
  return {
    url,
    process: child,
    logs: () => logs,
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
