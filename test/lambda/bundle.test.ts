/**
 * The container images' contents, without Docker: each suite lays out a folder from its Dockerfile's
 * final-stage COPY lines (sources from this checkout, built by the same commands), then runs the code from
 * that folder alone. A path dropped from a Dockerfile, or a package the bundle needs but the image lacks,
 * fails here.
 */
import { execFileSync, execSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as sourceHandler } from "../../lambda/handler.js";
import { lambdaContext, restApiEvent } from "../../tools/support/api-gateway-events.js";
import { dockerStages, lastInstruction, layOutFinalStage, onlyThisPlatformsBinaries, type DockerStage } from "../support/dockerfile.js";
import { readyUrl } from "../../tools/support/server-process.js";
import { anyXray, encodeForm } from "../../tools/support/forms.js";

const ROOT = join(import.meta.dirname, "..", "..");
const EVENT_FILE = join(ROOT, "events", "rest-api-classify.json");
/** The environment a bundle runs with here: none of this process's, so nothing resolves from the checkout. */
const BARE_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin" };

/** Packages the bundles may import besides Node's own: those esbuild leaves external. */
const EXTERNAL_PACKAGES = ["onnxruntime-node"];
/**
 * Named in the text of the bundles but never imported from them: tsx, in the bootstrap that starts a worker
 * thread from a .ts module in development (lambda/core/worker-thread.ts); the bundles' workers are .mjs.
 */
const DEVELOPMENT_ONLY = ["tsx"];
/** The pages and some of their files, which each image must serve from its own folder. */
const WEB_PATHS = ["/", "/docs", "/web/app.js", "/web/swagger-ui-bundle.js", "/web/swagger-ui.css"];
/** What the images keep of swagger-ui-dist: the files /docs serves, the package.json the core finds them by, the licences. */
const SWAGGER_UI_FILES = ["LICENSE", "NOTICE", "package.json", "swagger-ui-bundle.js", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui.css"].map(
  (file) => `node_modules/swagger-ui-dist/${file}`,
);
/** Optional requires inside try/catch in bundled code (debug's colour support), absent at run time by design. */
const OPTIONAL_REQUIRES = ["supports-color"];

/** Bare specifiers of the bundle's static imports, dynamic imports and bundled `__require` calls. */
function importedPackages(bundle: string): string[] {
  const specifiers = [
    ...bundle.matchAll(/^import\s[^;]*?\sfrom\s*"([^"]+)";/gm),
    ...bundle.matchAll(/^import\s*"([^"]+)";/gm),
    ...bundle.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ...bundle.matchAll(/\b__require\(\s*"([^"]+)"\s*\)/g),
  ].map((match) => match[1]!);
  const isBuiltin = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!);
  // "@scope/name/sub/path.js" and "name/sub" are the packages "@scope/name" and "name".
  const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
  return [...new Set(specifiers.filter((specifier) => !isBuiltin(specifier)).map(packageOf))].sort();
}

async function readStages(dockerfile: string, baseEnv: Record<string, string> = {}): Promise<DockerStage[]> {
  return dockerStages(await readFile(join(ROOT, "lambda", dockerfile), "utf8"), baseEnv);
}

describe("Lambda image (lambda/Dockerfile)", () => {
  let stages: DockerStage[];
  let taskRoot: string;
  let written: string[];

  beforeAll(async () => {
    // The Lambda base image sets LAMBDA_TASK_ROOT; the build runs the package's build script, as the Dockerfile does.
    stages = await readStages("Dockerfile", { LAMBDA_TASK_ROOT: "/var/task" });
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe" });
    taskRoot = await mkdtemp(join(tmpdir(), "pneumonia-lambda-task-root-"));
    written = await layOutFinalStage(stages, {
      appDir: stages.at(-1)!.env.LAMBDA_TASK_ROOT!,
      repoRoot: ROOT,
      folder: taskRoot,
      filter: onlyThisPlatformsBinaries,
    });
  });

  afterAll(async () => {
    if (taskRoot) await rm(taskRoot, { recursive: true, force: true });
  });

  it("copies exactly the bundle, the JPEG decoder's and DICOM codecs' .wasm and licences, the external packages, the web page's files, Swagger UI's, and the model into the task root", async () => {
    // Assess
    expect(written).toEqual([
      "assets",
      "charlswasm_decode.wasm",
      "dicom-codec-worker.mjs",
      "index.mjs",
      "libjpeg-turbo-grey.wasm",
      "libjpeg-turbo-grey12.wasm",
      "licenses",
      "models/pneumonia-cnn",
      "node_modules/onnxruntime-common",
      "node_modules/onnxruntime-node",
      ...SWAGGER_UI_FILES,
      "openjpegwasm_decode.wasm",
    ]);
    expect((await readdir(taskRoot)).sort()).toEqual([...new Set(written.map((path) => path.split("/")[0]))]);
    expect((await readdir(join(taskRoot, "licenses", "libjpeg-turbo"))).sort()).toEqual(["LICENSE.md", "README.ijg"]);
    expect(await readdir(join(taskRoot, "licenses", "charls"))).toEqual(["LICENSE"]);
    expect(lastInstruction(stages.at(-1)!, "CMD")).toBe('["index.handler"]');
  });

  it("builds the bundle with the package's build script", () => {
    // Assess: the build stage runs `npm run build` and the final stage takes its output
    const build = stages.find((stage) => stage.name === "build")!;
    expect(build.instructions).toContainEqual({ keyword: "RUN", args: "npm run build" });
    expect(stages.at(-1)!.copies).toContainEqual(
      expect.objectContaining({
        from: "build",
        sources: ["/build/dist/lambda/index.mjs", "/build/dist/lambda/dicom-codec-worker.mjs", "/build/dist/lambda/libjpeg-turbo-grey.wasm", "/build/dist/lambda/libjpeg-turbo-grey12.wasm", "/build/dist/lambda/openjpegwasm_decode.wasm", "/build/dist/lambda/charlswasm_decode.wasm"],
      }),
    );
  });

  it("leaves no package but the external ones out of the bundle", async () => {
    // Prepare
    const bundle = await readFile(join(taskRoot, "index.mjs"), "utf8");
    // Act
    const packages = importedPackages(bundle);
    // Assess
    expect(packages).toEqual([...EXTERNAL_PACKAGES, ...OPTIONAL_REQUIRES, ...DEVELOPMENT_ONLY].sort());
  });

  it("answers a JPEG 2000, a JPEG-LS and a 12-bit JPEG Extended DICOM file from the task root alone, the codecs' and the 12-bit libjpeg-turbo's .wasm read from beside the bundle", async () => {
    // Prepare: forms carrying the transcodes, as API Gateway would pass them
    const events = await Promise.all(
      ["CR-MONO1-10-j2k.dcm", "CR-MONO1-10-jpegls.dcm", "CR-MONO1-10-jpeg-extended-12.dcm"].map(async (name) => {
        const form = new FormData();
        form.append("file", new Blob([await readFile(join(ROOT, "test/fixtures/dicom/transcodes", name))]), name);
        const { body, contentType } = await encodeForm(form);
        return restApiEvent({ headers: { "content-type": contentType }, body });
      }),
    );
    const invoke = `
      import { pathToFileURL } from "node:url";
      const module = await import(pathToFileURL(process.env.LAMBDA_TASK_ROOT + "/index.mjs").href);
      const context = { ...JSON.parse(process.env.CONTEXT), getRemainingTimeInMillis: () => 30000 };
      const results = [];
      const { readFileSync } = await import("node:fs");
      for (const event of JSON.parse(readFileSync(process.env.EVENTS_FILE, "utf8"))) results.push(await module.handler(event, context));
      process.stdout.write("RESULT " + JSON.stringify(results) + "\\n", () => process.exit(0));
    `;
    const eventsFile = `${taskRoot}-dicom-events.json`;
    await writeFile(eventsFile, JSON.stringify(events));
    // A file, not --eval: worker threads inherit the process's flags, and --input-type is refused in a worker.
    const invokeFile = `${taskRoot}-dicom-invoke.mjs`;
    await writeFile(invokeFile, invoke);
    // Act
    const child = spawnSync(process.execPath, [invokeFile], {
      cwd: tmpdir(),
      env: { ...BARE_ENV, LAMBDA_TASK_ROOT: taskRoot, EVENTS_FILE: eventsFile, CONTEXT: JSON.stringify(lambdaContext), POWERTOOLS_LOG_LEVEL: "SILENT" },
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    await rm(eventsFile);
    await rm(invokeFile);
    // Assess: decoded and judged. These are adults' X-rays, which the gate refuses or lets through depending on the
    // model (its card's adult policy); a decoding failure would be UNUSABLE_IMAGE or 415 instead.
    expect(child.status, child.stderr).toBe(0);
    const results = JSON.parse(child.stdout.split("\n").find((line) => line.startsWith("RESULT "))!.slice("RESULT ".length)) as { statusCode: number; body: string }[];
    expect(results).toHaveLength(3);
    for (const result of results) {
      const answer = JSON.parse(result.body) as { source?: { transferSyntax: string }; error?: { code: string } };
      if (result.statusCode === 200) expect(answer.source?.transferSyntax, result.body).toBeDefined();
      else expect(answer, result.body).toMatchObject({ error: { code: "NOT_A_CHEST_XRAY" } });
    }
  });

  it("answers the sample REST API event from the task root alone, as the source handler does, and serves the web page's and Swagger UI's files", async () => {
    // Prepare: Lambda's bootstrap imports <file>.mjs from the task root and calls the named export
    const [file, exported] = (JSON.parse(lastInstruction(stages.at(-1)!, "CMD")!) as string[])[0]!.split(".");
    const event = JSON.parse(await readFile(EVENT_FILE, "utf8"));
    const invoke = `
      import { pathToFileURL } from "node:url";
      import { readFileSync } from "node:fs";
      const module = await import(pathToFileURL(process.env.LAMBDA_TASK_ROOT + "/${file}.mjs").href);
      const context = { ...JSON.parse(process.env.CONTEXT), getRemainingTimeInMillis: () => 30000 };
      const result = await module["${exported}"](JSON.parse(readFileSync(process.env.EVENT_FILE, "utf8")), context);
      const web = [];
      for (const path of JSON.parse(process.env.WEB_PATHS)) {
        const event = { httpMethod: "GET", path, headers: {}, multiValueHeaders: {}, body: null, isBase64Encoded: false, requestContext: {} };
        web.push((await module["${exported}"](event, context)).statusCode);
      }
      process.stdout.write("RESULT " + JSON.stringify(result) + "\\nWEB " + JSON.stringify(web) + "\\n", () => process.exit(0));
    `;
    // Act
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", invoke], {
      cwd: taskRoot,
      env: {
        ...BARE_ENV,
        LAMBDA_TASK_ROOT: taskRoot,
        EVENT_FILE,
        WEB_PATHS: JSON.stringify(WEB_PATHS),
        CONTEXT: JSON.stringify(lambdaContext),
        POWERTOOLS_LOG_LEVEL: "INFO",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    // Assess
    expect(child.status, child.stderr).toBe(0);
    const lines = child.stdout.trim().split("\n");
    const result = JSON.parse(lines.find((line) => line.startsWith("RESULT "))!.slice("RESULT ".length));
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body);
    const expected = JSON.parse(((await sourceHandler(event, lambdaContext)) as { body: string }).body);
    expect(body.prediction).toBe(expected.prediction);
    expect(body.probabilities.PNEUMONIA).toBeCloseTo(expected.probabilities.PNEUMONIA, 5);
    expect(body.model).toEqual(expected.model);
    const loaded = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)).find((log) => log.message === "model loaded");
    expect(loaded).toMatchObject({ executionProviders: ["cpu"], model: { name: "pneumonia-cnn" } });
    expect(JSON.parse(lines.find((line) => line.startsWith("WEB "))!.slice("WEB ".length))).toEqual(WEB_PATHS.map(() => 200));
  });
});

describe("GPU image (lambda/Dockerfile.gpu), run on the CPU", () => {
  let stages: DockerStage[];
  let appDir: string;
  let written: string[];

  beforeAll(async () => {
    // The server bundle comes from the Dockerfile's own build line, run here as there.
    stages = await readStages("Dockerfile.gpu");
    const build = stages.find((stage) => stage.name === "build")!;
    const bundleCommand = build.instructions.find(({ keyword, args }) => keyword === "RUN" && /\besbuild\b|\bnpm run build\b/.test(args));
    if (!bundleCommand) throw new Error("lambda/Dockerfile.gpu's build stage has no RUN line bundling the server");
    execSync(bundleCommand.args, { cwd: ROOT, stdio: "pipe", shell: "/bin/sh" });
    appDir = await mkdtemp(join(tmpdir(), "pneumonia-gpu-app-"));
    written = await layOutFinalStage(stages, { appDir: stages.at(-1)!.workdir, repoRoot: ROOT, folder: appDir, filter: onlyThisPlatformsBinaries });
  });

  afterAll(async () => {
    if (appDir) await rm(appDir, { recursive: true, force: true });
  });

  it("copies exactly the batching server's bundles, the JPEG decoder's and DICOM codecs' .wasm and licences, onnxruntime-node with its runtime dependency, the web page's files, Swagger UI's, and the model into the app folder", async () => {
    // Assess
    expect(written).toEqual([
      "assets",
      "charlswasm_decode.wasm",
      "dicom-codec-worker.mjs",
      "gpu-server.mjs",
      "inference-worker.mjs",
      "libjpeg-turbo-grey.wasm",
      "libjpeg-turbo-grey12.wasm",
      "licenses",
      "models/pneumonia-cnn",
      "node_modules/onnxruntime-common",
      "node_modules/onnxruntime-node",
      ...SWAGGER_UI_FILES,
      "openjpegwasm_decode.wasm",
      "preprocess-worker.mjs",
    ]);
    expect((await readdir(appDir)).sort()).toEqual([...new Set(written.map((path) => path.split("/")[0]))]);
    expect((await readdir(join(appDir, "licenses", "libjpeg-turbo"))).sort()).toEqual(["LICENSE.md", "README.ijg"]);
  });

  it("listens on every interface on the exposed port, asks for CUDA then the CPU, and runs as a non-root user", () => {
    // Prepare
    const final = stages.at(-1)!;
    // Assess
    expect(final.env).toMatchObject({ HOST: "0.0.0.0", PORT: "8080", ONNX_EXECUTION_PROVIDERS: "cuda,cpu" });
    expect(lastInstruction(final, "EXPOSE")).toBe(final.env.PORT);
    expect(lastInstruction(final, "USER")).toMatch(/^(?!root\b|0\b)\S+/);
  });

  it("starts the server from the app folder alone, falls back to the CPU, classifies, and passes the image's health check", async () => {
    // Prepare: the image's CMD and ENV (cuda,cpu) on a free loopback port; no GPU here, so the CPU serves
    const final = stages.at(-1)!;
    const [command, ...args] = JSON.parse(lastInstruction(final, "CMD")!) as string[];
    expect(command).toBe("node");
    const server = spawn(process.execPath, args, {
      cwd: appDir,
      env: { ...BARE_ENV, ...final.env, HOST: "127.0.0.1", PORT: "0", POWERTOOLS_LOG_LEVEL: "WARN" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const url = await readyUrl(server);
      const healthCheck = JSON.parse(/\bCMD\s+(\[.*\])$/.exec(lastInstruction(final, "HEALTHCHECK")!)![1]!) as string[];
      const form = new FormData();
      form.append("file", new Blob([await anyXray()], { type: "image/jpeg" }), "xray.jpeg");
      // Act
      const health = await fetch(`${url}/health`);
      const webFiles = await Promise.all(WEB_PATHS.map((path) => fetch(`${url}${path}`)));
      const classified = await fetch(`${url}/pneumonia_classifier`, { method: "POST", body: form });
      const check = spawnSync(process.execPath, healthCheck.slice(1), { env: { ...BARE_ENV, PORT: new URL(url).port }, timeout: 10_000 });
      // Assess
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "ok", model: { name: "pneumonia-cnn" } });
      expect(webFiles.map((response) => response.status)).toEqual(WEB_PATHS.map(() => 200));
      expect(classified.status).toBe(200);
      expect(await classified.json()).toMatchObject({ prediction: expect.stringMatching(/^(NORMAL|PNEUMONIA)$/) });
      expect(healthCheck[0]).toBe("node");
      expect(check.status, String(check.stderr)).toBe(0);
    } finally {
      server.kill("SIGTERM");
      if (server.exitCode === null) await once(server, "exit");
    }
  });
});
