/**
 * Measures the out-of-distribution gate over real HTTP: posts every image of each set to a running API
 * (`npm start`) and prints, per set, how many were refused with 422 NOT_A_CHEST_XRAY against the set's target.
 * Chest X-ray sets must be accepted (at most 1 % refused); the rest of test/fixtures/ood must be refused.
 *
 *   npm start, then: npm run evaluate:gate [-- --files] [NAME=PATH ...]
 *
 * A set's PATH is a folder (its images, recursively) or a .txt file listing image paths one a line (the
 * validation hold-out: training/gate.py writes training/validation-files.txt). Exit code 1 when
 * the server cannot be reached or answers anything but 200 or 422 NOT_A_CHEST_XRAY, or a target is missed.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseCommandLine } from "../bin/cli/command-line.js";
import { replaceCardSection } from "./model-card-section.js";

/** A set of images and what the gate must do with them. */
interface ImageSet {
  name: string;
  path: string;
  /** Share refused: at most (chest X-rays) or at least (everything else); none for a set only reported. */
  target?: { atMost: number } | { atLeast: number };
}

const OOD = "test/fixtures/ood";
/** The sets and targets of the issue; transformed chest X-rays held to the other medical images' 90 %. */
const DEFAULT_SETS: ImageSet[] = [
  { name: "dev (pediatric chest X-rays)", path: "../shared/data/chest_xray/dev", target: { atMost: 0.01 } },
  { name: "validation (pediatric chest X-rays)", path: "training/validation-files.txt", target: { atMost: 0.01 } },
  ...["photos", "screenshots", "documents", "logos", "synthetic"].map((name) => ({ name, path: join(OOD, name), target: { atLeast: 0.99 } })),
  { name: "medical (not chest X-rays)", path: join(OOD, "medical"), target: { atLeast: 0.9 } },
  ...["inverted", "rotated-90", "corner-crop"].map((name) => ({ name: `chest X-rays ${name}`, path: join(OOD, "transformed", name), target: { atLeast: 0.9 } })),
  { name: "adult chest X-rays (reported, no target)", path: "test/fixtures/adult-chest" },
];

const commandLine = parseCommandLine({
  command: "npm run evaluate:gate --",
  summary: "Posts every image of each set to a running API (start it first: npm start) and prints the share the gate refused (422 NOT_A_CHEST_XRAY) against each set's target.",
  operands: "[NAME=PATH ...]",
  options: {
    url: { type: "string", value: "URL", default: `http://127.0.0.1:${process.env.PORT || 3000}`, doc: "the running API; follows PORT as npm start does" },
    files: { type: "boolean", doc: "also print each image's answer and gate score" },
    card: { type: "string", value: "FILE", doc: "also write the table into this model card's gate-metrics section" },
  },
});
const base = commandLine.url("url")!.replace(/\/$/, "");
const sets: ImageSet[] = commandLine.positionals.length > 0
  ? commandLine.positionals.map((operand) => {
      const [name, path] = operand.split("=", 2);
      return path ? { name: name!, path } : commandLine.fail(`${operand}: give each set as NAME=PATH`);
    })
  : DEFAULT_SETS;

const IMAGE = /\.(jpe?g|png)$/i;

/** The images of a set: a folder's, recursively and sorted, or those a .txt file lists. */
async function imagesOf(path: string): Promise<string[]> {
  if (path.endsWith(".txt")) return (await readFile(path, "utf8")).split("\n").filter(Boolean);
  const entries = await readdir(path, { recursive: true });
  const files = entries.filter((entry) => IMAGE.test(entry)).sort().map((entry) => join(path, entry));
  return (await Promise.all(files.map(async (file) => ((await stat(file)).isFile() ? file : undefined)))).filter((file) => file !== undefined);
}

interface Answer {
  file: string;
  refused: boolean;
  /** The gate's score when refused (the 200 answer does not carry it). */
  score?: number;
  prediction?: string;
}

async function post(file: string): Promise<Answer> {
  const form = new FormData();
  form.append("file", new Blob([await readFile(file)], { type: /\.png$/i.test(file) ? "image/png" : "image/jpeg" }), basename(file));
  const response = await fetch(`${base}/pneumonia_classifier`, { method: "POST", body: form }).catch((error: Error) => {
    throw new Error(`no server answers at ${base} (${(error.cause as Error | undefined)?.message ?? error.message}): start it with \`npm start\`, or pass --url`);
  });
  const body = (await response.json()) as { prediction?: string; error?: { code: string; score?: number } };
  if (response.status === 200) return { file, refused: false, prediction: body.prediction };
  if (response.status === 422 && body.error?.code === "NOT_A_CHEST_XRAY") return { file, refused: true, score: body.error.score };
  throw new Error(`${base} answered ${file} with ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
}

const targetText = (target: ImageSet["target"]) => (!target ? "none" : "atMost" in target ? `<= ${target.atMost * 100} %` : `>= ${target.atLeast * 100} %`);
function met(target: ImageSet["target"], share: number): "yes" | "NO" | "-" {
  if (!target) return "-";
  return ("atMost" in target ? share <= target.atMost : share >= target.atLeast) ? "yes" : "NO";
}

const rows: string[] = [];
let missed = false;
try {
  for (const set of sets) {
    const answers: Answer[] = [];
    for (const file of await imagesOf(set.path)) answers.push(await post(file));
    const refused = answers.filter((answer) => answer.refused).length;
    const share = refused / answers.length;
    const verdict = met(set.target, share);
    missed ||= verdict === "NO";
    rows.push(`| ${set.name} | \`${set.path}\` | ${answers.length} | ${refused} | ${(share * 100).toFixed(1)} % | ${targetText(set.target)} | ${verdict} |`);
    if (commandLine.values.files) {
      for (const answer of answers) console.log(`${answer.file}\t${answer.refused ? `422 NOT_A_CHEST_XRAY score ${answer.score?.toFixed(2)}` : `200 ${answer.prediction}`}`);
    }
  }
} catch (error) {
  process.stderr.write(`evaluate-gate: ${(error as Error).message}\n`);
  process.exit(1);
}
const report = [
  `Measured over real HTTP against \`npm start\` (${base}): each image posted alone to /pneumonia_classifier.`,
  "",
  "| set | path | images | refused | share refused | target | met |",
  "|---|---|---|---|---|---|---|",
  ...rows,
  "",
  `Command: \`npm start\`, then \`npm run evaluate:gate${commandLine.positionals.length > 0 ? ` -- ${commandLine.positionals.join(" ")}` : ""}\`.`,
].join("\n");
console.log(report);
if (commandLine.values.card) await replaceCardSection(commandLine.values.card, "gate-metrics", report);
if (missed) process.exitCode = 1;
