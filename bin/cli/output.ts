import type { Writable } from "node:stream";
import type { Row } from "./client.js";

export const FORMATS = ["csv", "jsonl"] as const;
export type Format = (typeof FORMATS)[number];

const COLUMNS = ["file", "prediction", "probabilityNormal", "probabilityPneumonia", "route", "status", "error"] as const;

/** RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled. */
const csvField = (value: unknown) => {
  const text = value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Writes rows as they come, with a header line first for CSV; the overlay column only with --explain. */
export function rowWriter(out: Writable, format: Format, withOverlay = false): (row: Row) => void {
  const columns: readonly (keyof Row)[] = withOverlay ? [...COLUMNS, "overlay"] : COLUMNS;
  if (format === "csv") out.write(`${columns.join(",")}\n`);
  return (row) => out.write(format === "csv" ? `${columns.map((c) => csvField(row[c])).join(",")}\n` : `${JSON.stringify(row)}\n`);
}

/** A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal. */
export function progressBar(total: number, stream: NodeJS.WriteStream = process.stderr) {
  let done = 0;
  let failed = 0;
  const draw = () => {
    if (!stream.isTTY) return;
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    stream.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}  errors ${failed}`);
  };
  draw();
  return {
    tick(row: Row) {
      done++;
      if (row.error) failed++;
      draw();
    },
    finish() {
      if (stream.isTTY) stream.write("\n");
    },
  };
}
