import { describe, expect, it } from "vitest";
import { runEntry } from "../support/run-command.js";

/** Each developer tool's npm script and the entry point it runs. */
const TOOLS = [
  { script: "soak", entry: "tools/soak.ts" },
  { script: "evaluate", entry: "tools/evaluate-http.ts" },
  { script: "evaluate:explain", entry: "tools/evaluate-explain.ts" },
  { script: "bench", entry: "tools/bench.ts" },
  { script: "bench:inference", entry: "tools/bench-inference.ts" },
  { script: "bench:throughput", entry: "tools/bench-throughput.ts" },
  { script: "fuzz", entry: "tools/fuzz.ts" },
];

const usageLine = (script: string) => `usage: npm run ${script} -- [options]  (--help for every option)`;

// Every case is a process of its own that stops at its command line: they can run side by side.
describe.concurrent("the developer tools' command lines", () => {
  it.each(TOOLS)("answers npm run $script -- --help with its usage and options, and exit code 0", async ({ script, entry }) => {
    // Act
    const { code, stdout, stderr } = await runEntry(entry, ["--help"]);
    // Assess
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe(`usage: npm run ${script} -- [options]`);
    expect(stdout).toMatch(/^ {2}-h, --help +print this help and exit$/m);
    expect(stderr).toBe("");
  });

  it.each(TOOLS)("refuses an unknown option to npm run $script with one line and exit code 2", async ({ script, entry }) => {
    // Act
    const { code, stdout, stderr } = await runEntry(entry, ["--secnds", "5"]);
    // Assess
    expect(code).toBe(2);
    expect(stderr.split("\n")).toEqual(["unknown option --secnds", usageLine(script), ""]);
    expect(stdout).toBe("");
  });

  it.each([
    { script: "soak", entry: "tools/soak.ts", args: ["--seconds", "ten"], problem: '--seconds must be a number from 1 to 86400, not "ten"' },
    { script: "soak", entry: "tools/soak.ts", args: ["--url", "http://192.0.2.1:3000"], problem: "--url must be a loopback address (127.0.0.1, localhost, ::1), not 192.0.2.1" },
    { script: "evaluate:explain", entry: "tools/evaluate-explain.ts", args: ["--share", "0.9"], problem: '--share must be a number from 0.01 to 0.5, not "0.9"' },
    { script: "evaluate", entry: "tools/evaluate-http.ts", args: ["--url", "localhost:3000"], problem: '--url must be an http or https URL, not "localhost:3000"' },
    { script: "evaluate", entry: "tools/evaluate-http.ts", args: ["--data", "test/fixtures/xrays/NORMAL"], problem: "--data test/fixtures/xrays/NORMAL has no NORMAL/ folder: it must hold NORMAL/ and PNEUMONIA/ folders of images" },
    { script: "bench", entry: "tools/bench.ts", args: ["--rounds", "0"], problem: '--rounds must be a whole number from 1 to 1000, not "0"' },
    { script: "bench:throughput", entry: "tools/bench-throughput.ts", args: ["--only", "gpu,lambda"], problem: '--only takes start, gpu, gpu-unbatched, gpu-batch-route, not "lambda"' },
    { script: "fuzz", entry: "tools/fuzz.ts", args: ["--target", "jpeg"], problem: '--target must be one of multipart, image, both, not "jpeg"' },
  ])("refuses npm run $script -- $args.0 $args.1 with one line and exit code 2", async ({ script, entry, args, problem }) => {
    // Act
    const { code, stderr } = await runEntry(entry, args);
    // Assess
    expect(code).toBe(2);
    expect(stderr.split("\n")).toEqual([problem, usageLine(script), ""]);
  });
});
