import { parseArgs } from "node:util";

/** One option of a command: what parseArgs needs, plus the line --help prints for it. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  default?: string;
  /** How --help names the value ("N", "URL"); string options only. */
  value?: string;
  /** What the option does, in one line for --help. */
  doc: string;
}

/** A command as its user types it, with its options and operands: one source for parsing and for --help. */
export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** The command as typed, up to its options: "npm run soak --", "pneumonia-classify". */
  command: string;
  /** What the command does, one or two sentences for the top of --help. */
  summary: string;
  options: O;
  /** The operands after the options ("FILE|FOLDER|GLOB..."); none when absent. */
  operands?: string;
  /** The usage line after the command, where `[options] OPERANDS` hides a required option. */
  synopsis?: string;
}

/** The parsed values: booleans, strings with a default, and strings that may be absent. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]["type"] extends "boolean" ? boolean | undefined : O[K]["default"] extends string ? string : string | undefined;
};

/** A numeric option's allowed values. */
export interface NumberRange {
  min: number;
  max: number;
  /** Whole numbers only; default true. */
  integer?: boolean;
}

/** The parsed command line, with validators that end the process with a usage error when a value is wrong. */
export interface CommandLine<O extends Record<string, OptionSpec>> {
  values: OptionValues<O>;
  positionals: string[];
  /** Prints the problem and the one-line usage to stderr and exits 2. */
  fail(problem: string): never;
  /** The option's value as a number within `range`. */
  number(name: keyof O & string, range: NumberRange): number;
  /** The option's value as an http(s) URL string, or undefined when the option is absent. */
  url(name: keyof O & string): string | undefined;
}

const HELP: OptionSpec = { type: "boolean", short: "h", doc: "print this help and exit" };

function flags(name: string, option: OptionSpec): string {
  const long = `--${name}${option.type === "string" ? ` ${option.value ?? "VALUE"}` : ""}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

/** The --help text: usage line, summary, then one aligned line per option with its default. */
function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, option]) => {
    const fallback = option.default !== undefined ? ` (default ${option.default})` : "";
    return [flags(name, option), `${option.doc}${fallback}`] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    usageLine(spec),
    "",
    spec.summary,
    "",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "",
  ].join("\n");
}

function usageLine<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  return `usage: ${spec.command} ${spec.synopsis ?? `[options]${spec.operands ? ` ${spec.operands}` : ""}`}`;
}

/** parseArgs's own messages, made one short line (its unknown-option text suggests `--`, which misleads here). */
function parseProblem(error: Error & { code?: string }): string {
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${/'([^']+)'/.exec(error.message)?.[1] ?? ""}`.trim();
  return error.message;
}

/**
 * Parses the command line against `spec`. `--help` or `-h` prints the help to stdout and exits 0; an unknown
 * option, a missing value or an operand the command does not take prints one line saying so and the usage
 * line to stderr and exits 2, as does any `fail`, `number` or `url` call on a bad value.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, args: string[] = process.argv.slice(2)): CommandLine<O> {
  const fail = (problem: string): never => {
    process.stderr.write(`${problem}\n${usageLine(spec)}  (--help for every option)\n`);
    process.exit(2);
  };
  // parseArgs knows nothing of `doc` and `value`, and refuses a `short` or `default` present but undefined.
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, help: HELP }).map(([name, { type, short, default: fallback }]) => [
      name,
      { type, ...(short !== undefined && { short }), ...(fallback !== undefined && { default: fallback }) },
    ]),
  );
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: spec.operands !== undefined, strict: true }) as typeof parsed;
  } catch (error) {
    return fail(parseProblem(error as Error));
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(spec));
    process.exit(0);
  }
  const { help: _help, ...values } = parsed.values;
  return {
    values: values as OptionValues<O>,
    positionals: parsed.positionals,
    fail,
    number(name, { min, max, integer = true }) {
      const raw = String(values[name] ?? "");
      const value = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
        return fail(`--${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, not "${raw}"`);
      }
      return value;
    },
    url(name) {
      const raw = values[name];
      if (raw === undefined) return undefined;
      const url = URL.canParse(String(raw)) ? new URL(String(raw)) : undefined;
      if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) return fail(`--${name} must be an http or https URL, not "${raw}"`);
      return String(raw);
    },
  };
}
