/**
 * The project's own Python environment: a virtual environment in `.venv/` (ignored by git), made with the
 * machine's `python3` and filled from pinned requirements files on first use. `npm test` needs it for the
 * training-parity test and the template lint; `npm run train` adds the training requirements. Nothing is ever
 * installed into the system Python or the user's site-packages.
 *
 *   node --import tsx tools/python-env.ts [--profile test|train]    (prints where Python and cfn-lint are)
 *
 * A profile is installed again only when its requirements (or the interpreter) change: a stamp in `.venv/`
 * records the hash of what was installed. cfn-lint is a command-line tool that pip may not carry (this
 * workplace's local index does not): it is installed into the environment when pip can get it, else taken
 * from the PATH; a failed install is remembered by the same kind of stamp so later runs do not retry it.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const REPO_ROOT = join(import.meta.dirname, "..");
const VENV_DIR = join(REPO_ROOT, ".venv");
const VENV_PYTHON = join(VENV_DIR, "bin", "python");

/** The requirements each use of Python needs; `train` includes `test` through its `-r` line. */
export const PYTHON_PROFILES = {
  test: join(REPO_ROOT, "training", "requirements-test.txt"),
  train: join(REPO_ROOT, "training", "requirements.txt"),
} as const;
export type PythonProfile = keyof typeof PYTHON_PROFILES;

const CFN_LINT_REQUIREMENTS = join(REPO_ROOT, "tools", "requirements-lint.txt");
const MIN_PYTHON = [3, 10] as const;

/** Where the tests find their tools, or one line saying what to install when a tool cannot be had. */
export interface PythonEnv {
  /** The environment's interpreter, with the profile's packages installed. */
  python: { path: string } | { problem: string };
  /** A cfn-lint command: the environment's own, else the one on the PATH. */
  cfnLint: { path: string } | { problem: string };
}

function run(command: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: "utf8", cwd: REPO_ROOT });
}

/** The last line a failed command printed: pip and venv put the reason there. */
function lastLine(result: SpawnSyncReturns<string>): string {
  const text = `${result.stdout ?? ""}\n${result.stderr ?? ""}\n${result.error?.message ?? ""}`.trim();
  return text.split("\n").filter(Boolean).at(-1) ?? `exit code ${result.status}`;
}

/** Hash of a requirements file with the files its `-r` lines include, and the interpreter version. */
function requirementsHash(file: string, pythonVersion: string): string {
  const hash = createHash("sha256").update(pythonVersion);
  const visit = (path: string) => {
    const text = readFileSync(path, "utf8");
    hash.update(text);
    for (const [, included] of text.matchAll(/^\s*-r\s+(\S+)/gm)) visit(resolve(dirname(path), included!));
  };
  visit(file);
  return hash.digest("hex");
}

const stampPath = (name: string) => join(VENV_DIR, `.installed-${name}`);
const stampMatches = (name: string, hash: string) => existsSync(stampPath(name)) && readFileSync(stampPath(name), "utf8").startsWith(hash);

/**
 * Few retries: a pip that cannot reach an index (offline, or an index that lacks the package) should fail in
 * seconds, not after minutes of back-off. PIP_RETRIES in the environment still wins.
 */
function pipInstall(requirements: string): SpawnSyncReturns<string> {
  const retries = process.env.PIP_RETRIES ?? "2";
  return run(VENV_PYTHON, ["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--retries", retries, "-r", requirements]);
}

/** The machine's python3 version ("3.11.7"), or the reason it cannot be used. */
function systemPython(): { version: string } | { problem: string } {
  const result = run("python3", ["-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"]);
  const install = `install Python ${MIN_PYTHON.join(".")} or newer with its venv module (Debian/Ubuntu: apt-get install python3 python3-venv)`;
  if (result.error || result.status !== 0) return { problem: `python3 was not found on the PATH: ${install}` };
  const version = result.stdout.trim();
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    return { problem: `python3 is ${version}, older than ${MIN_PYTHON.join(".")}: ${install}` };
  }
  return { version };
}

function ensureVenv(): { problem: string } | undefined {
  if (existsSync(VENV_PYTHON)) return undefined;
  const made = run("python3", ["-m", "venv", VENV_DIR]);
  if (made.status === 0) return undefined;
  return { problem: `python3 could not create .venv (${lastLine(made)}): install its venv module (Debian/Ubuntu: apt-get install python3-venv)` };
}

function ensureProfile(profile: PythonProfile, pythonVersion: string): PythonEnv["python"] {
  const hash = requirementsHash(PYTHON_PROFILES[profile], pythonVersion);
  if (!stampMatches(profile, hash)) {
    console.error(`Setting up .venv for ${profile} (pip install -r ${PYTHON_PROFILES[profile].slice(REPO_ROOT.length + 1)}); later runs reuse it.`);
    const installed = pipInstall(PYTHON_PROFILES[profile]);
    if (installed.status !== 0) {
      return { problem: `pip could not install ${PYTHON_PROFILES[profile].slice(REPO_ROOT.length + 1)} into .venv: ${lastLine(installed)}` };
    }
    writeFileSync(stampPath(profile), `${hash}\n`);
  }
  return { path: VENV_PYTHON };
}

/** cfn-lint from `.venv` when pip can install it there (tried only when Python is usable), else from the PATH. */
function ensureCfnLint(pythonVersion: string | undefined): PythonEnv["cfnLint"] {
  if (pythonVersion !== undefined) {
    const own = join(VENV_DIR, "bin", "cfn-lint");
    const hash = requirementsHash(CFN_LINT_REQUIREMENTS, pythonVersion);
    if (!stampMatches("cfn-lint", hash)) {
      const installed = pipInstall(CFN_LINT_REQUIREMENTS);
      writeFileSync(stampPath("cfn-lint"), `${hash}\n${installed.status === 0 ? "installed" : `not installed: ${lastLine(installed)}`}\n`);
    }
    if (existsSync(own)) return { path: own };
  }
  const fromPath = run("/bin/sh", ["-c", "command -v cfn-lint"]);
  if (fromPath.status === 0) return { path: fromPath.stdout.trim() };
  return { problem: "cfn-lint was not found: pip could not install it into .venv and none is on the PATH; install it (pipx install cfn-lint, or pip install cfn-lint) and run again" };
}

/** Makes sure `.venv` holds the profile's packages and finds cfn-lint; never throws, so each test can say what is missing. */
export function ensurePythonEnv(profile: PythonProfile): PythonEnv {
  const python = systemPython();
  if ("problem" in python) return { python, cfnLint: ensureCfnLint(undefined) };
  const venvProblem = ensureVenv();
  if (venvProblem) return { python: venvProblem, cfnLint: ensureCfnLint(undefined) };
  return { python: ensureProfile(profile, python.version), cfnLint: ensureCfnLint(python.version) };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { profile: { type: "string", default: "test" } } });
  if (!(values.profile! in PYTHON_PROFILES)) {
    console.error(`--profile must be one of ${Object.keys(PYTHON_PROFILES).join(", ")}, got ${values.profile}`);
    process.exit(2);
  }
  const env = ensurePythonEnv(values.profile as PythonProfile);
  console.log(JSON.stringify(env));
  process.exit("problem" in env.python ? 1 : 0);
}
