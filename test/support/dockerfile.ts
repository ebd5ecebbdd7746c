import { cp, stat } from "node:fs/promises";
import { basename, join, posix } from "node:path";

/** One instruction of a Dockerfile: continuation lines joined, keyword upper-cased, arguments as written. */
export interface DockerInstruction {
  keyword: string;
  args: string;
}

/** One COPY: the stage it copies from (undefined: the build context), its sources and its destination. */
export interface DockerCopy {
  from: string | undefined;
  sources: string[];
  /** Absolute, variables substituted, resolved against the stage's WORKDIR; ends with "/" when written so. */
  dest: string;
}

/** One build stage, as far as the tests need it. */
export interface DockerStage {
  name: string | undefined;
  base: string;
  /** Absolute working directory at the end of the stage. */
  workdir: string;
  env: Record<string, string>;
  copies: DockerCopy[];
  instructions: DockerInstruction[];
}

/** The instructions of a Dockerfile, without comments, parser directives and blank lines. */
export function dockerInstructions(text: string): DockerInstruction[] {
  const instructions: DockerInstruction[] = [];
  let current = "";
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    // Docker drops comment lines, even between the continuation lines of one instruction.
    if (line.startsWith("#") || (line === "" && current === "")) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const whole = (current + line).trim();
    current = "";
    const match = /^(\S+)\s+([\s\S]*)$/.exec(whole);
    if (!match) throw new Error(`cannot read the Dockerfile instruction "${whole}"`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
  }
  return instructions;
}

/** Replaces ${NAME} and $NAME; a variable not in `vars` is an error, so a typo cannot pass as a path. */
function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const found = vars[name];
    if (found === undefined) throw new Error(`the Dockerfile uses $${name}, which neither it nor its base image sets`);
    return found;
  });
}

/** `KEY=value KEY2=value2`, or the legacy `KEY value`. Values here are never quoted. */
function envPairs(args: string): [string, string][] {
  if (!/^\S+=/.test(args)) {
    const [key, ...value] = args.split(/\s+/);
    return [[key!, value.join(" ")]];
  }
  return args.split(/\s+/).map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/**
 * The stages of a Dockerfile. `baseEnv` stands for the environment that base images (not earlier stages)
 * set, such as LAMBDA_TASK_ROOT in the Lambda images.
 */
export function dockerStages(text: string, baseEnv: Record<string, string> = {}): DockerStage[] {
  const globalArgs: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const instruction of dockerInstructions(text)) {
    const { keyword, args } = instruction;
    if (keyword === "ARG" && stages.length === 0) {
      const [name, value = ""] = envPairs(args.includes("=") ? args : `${args}=`)[0]!;
      globalArgs[name] = value;
      continue;
    }
    if (keyword === "FROM") {
      const [image, as, name] = args.split(/\s+/).filter((token) => !token.startsWith("--"));
      const base = substitute(image!, globalArgs);
      const parent = stages.find((stage) => stage.name === base);
      stages.push({
        name: as?.toUpperCase() === "AS" ? name : undefined,
        base,
        workdir: parent?.workdir ?? "/",
        env: { ...(parent?.env ?? baseEnv) },
        copies: [],
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${keyword} before the first FROM`);
    stage.instructions.push(instruction);
    if (keyword === "WORKDIR") stage.workdir = posix.resolve(stage.workdir, substitute(args, stage.env));
    if (keyword === "ENV") for (const [key, value] of envPairs(args)) stage.env[key] = substitute(value, stage.env);
    if (keyword === "COPY") {
      if (args.trimStart().startsWith("[")) throw new Error("COPY in JSON form is not read by this parser");
      const tokens = args.split(/\s+/);
      const from = tokens.find((token) => token.startsWith("--from="))?.slice("--from=".length);
      const paths = tokens.filter((token) => !token.startsWith("--"));
      const written = substitute(paths.at(-1)!, stage.env);
      const dest = posix.resolve(stage.workdir, written) + (written.endsWith("/") || written === "." ? "/" : "");
      stage.copies.push({ from, sources: paths.slice(0, -1), dest });
    }
  }
  return stages;
}

/** The value of the last instruction with this keyword in a stage, such as CMD or EXPOSE. */
export function lastInstruction(stage: DockerStage, keyword: string): string | undefined {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword).at(-1)?.args;
}

/**
 * Lays out in `folder` what the final stage's COPY instructions put under `appDir` in the image, each
 * source taken from this checkout: a build-context path as it is, a path in an earlier stage relative to
 * that stage's WORKDIR (where the same build command leaves it here). Copies elsewhere in the image (a
 * node binary into /usr/local/bin) are left out. Returns the paths written, relative to appDir, sorted.
 */
export async function layOutFinalStage(
  stages: readonly DockerStage[],
  options: { appDir: string; repoRoot: string; folder: string; filter?: (source: string) => boolean },
): Promise<string[]> {
  const { appDir, repoRoot, folder, filter } = options;
  const written: string[] = [];
  for (const { from, sources, dest } of stages.at(-1)!.copies) {
    if (!dest.startsWith(`${appDir}/`)) continue;
    for (const source of sources) {
      let repoPath = source;
      if (from !== undefined) {
        const stage = stages.find((candidate) => candidate.name === from);
        if (!stage) throw new Error(`COPY --from=${from}: no stage of that name`);
        repoPath = posix.relative(stage.workdir, posix.resolve(stage.workdir, source));
        if (repoPath.startsWith("..")) throw new Error(`COPY --from=${from} ${source}: outside the stage's WORKDIR ${stage.workdir}`);
      }
      const hostPath = join(repoRoot, repoPath);
      // Docker copies a folder's contents into the destination; a file into it when it ends with "/".
      const isFolder = (await stat(hostPath)).isDirectory();
      const target = isFolder || !dest.endsWith("/") ? dest.replace(/\/$/, "") : posix.join(dest, basename(repoPath));
      const relative = posix.relative(appDir, target);
      await cp(hostPath, join(folder, relative), { recursive: true, ...(filter ? { filter } : {}) });
      written.push(relative);
    }
  }
  return written.sort();
}

/**
 * A copy filter doing what the Dockerfiles' prune step does for their platform (linux/x64): of
 * onnxruntime-node's prebuilt binaries (bin/napi-v<N>/<platform>/<arch>), keep only this machine's.
 */
export function onlyThisPlatformsBinaries(source: string): boolean {
  const match = /onnxruntime-node[\\/]bin[\\/]napi-v\d+[\\/]([^\\/]+)(?:[\\/]([^\\/]+))?$/.exec(source);
  if (!match) return true;
  return match[1] === process.platform && (match[2] === undefined || match[2] === process.arch);
}
