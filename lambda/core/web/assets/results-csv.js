// @ts-check
// The results as CSV, safe to open in a spreadsheet.

/** @typedef {import("./classify-file.js").FileResult} FileResult */

export const CSV_HEADER = ["file", "label", "probability_normal", "probability_pneumonia", "status", "error"];

/**
 * One CSV cell, quoted. Text a spreadsheet would run as a formula (starting with =, +, -, an at sign, a tab or a
 * carriage return) gets a leading apostrophe, as OWASP advises against CSV injection: file names and
 * messages are the client's or the server's words, never a formula.
 */
export function csvCell(/** @type {string | number | undefined} */ value) {
  let text = value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replaceAll('"', '""')}"`;
}

/** The CSV of the results in the order given, one line per file, header first, CRLF line ends (RFC 4180). */
export function resultsCsv(/** @type {readonly FileResult[]} */ results) {
  const lines = [CSV_HEADER, ...results.map((r) => [r.file, r.label, r.probabilities?.NORMAL, r.probabilities?.PNEUMONIA, r.status, r.error])];
  return lines.map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
}
