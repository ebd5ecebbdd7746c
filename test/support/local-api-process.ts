import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

/** A running `npm start` process on a free loopback port. */
export interface LocalApiProcess {
  url: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

/** Waits for serve-local.ts's "ready at <url>" line and returns the URL; rejects if the process exits first. */
export function readyUrl(child: ChildProcess): Promise<string> {
  let output = "";
  return new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready at (http:\/\/[^/\s]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the server exited with ${code} before it was ready:\n${output}`)));
  });
}

/** Starts the local API as `npm start` does (same entry point), on a port the OS picks, and waits until it is ready. */
export async function startLocalApi(): Promise<LocalApiProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "lambda/serve-local.ts"], {
    env: { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "WARN" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await readyUrl(child);
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
