// @ts-check
// The page at /: files picked or dropped are classified a few at a time, each filling its card and its row of
// the results table as its answer comes; the table downloads as CSV.
import { storedApiKey, storeApiKey } from "./api-key.js";
import { FileCard, percent } from "./card.js";
import { classifyFile } from "./classify-file.js";
import { resultsCsv } from "./results-csv.js";

/** @typedef {import("./classify-file.js").FileResult} FileResult */

/** Requests in flight at once: enough to keep a server busy, few enough not to flood one (or trip its throttle). */
const CONCURRENCY = 3;

const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const picker = /** @type {HTMLInputElement} */ (byId("files"));
const dropZone = byId("drop-zone");
const apiKey = /** @type {HTMLInputElement} */ (byId("api-key"));
const progress = byId("progress");
const cards = byId("cards");
const tableBody = /** @type {HTMLTableSectionElement} */ (document.querySelector("#results tbody"));
const download = /** @type {HTMLButtonElement} */ (byId("download-csv"));
const model = byId("model");

/** @type {(FileResult | undefined)[]} Every file's result, in the order given; undefined until its answer comes. */
const results = [];
/** @type {(() => Promise<void>)[]} The requests not sent yet, in order. */
const queue = [];
let running = 0;

apiKey.value = storedApiKey();
apiKey.addEventListener("input", () => storeApiKey(apiKey.value.trim()));

/** The progress count, and the CSV button once there is something to download. */
function showProgress() {
  const done = results.filter((result) => result !== undefined);
  const refused = done.filter((result) => !result.label).length;
  progress.textContent =
    `${done.length} of ${results.length} done` + (refused ? `, ${refused} refused` : "") + (done.length < results.length ? "…" : ".");
  download.disabled = done.length === 0;
}

/** The table's cells of a result: file, label, both probabilities, status, error. */
function cellsOf(/** @type {FileResult} */ result) {
  return [result.file, result.label, percent(result.probabilities?.NORMAL), percent(result.probabilities?.PNEUMONIA), result.status ?? "no answer", result.error];
}

/** Fills a row of the table, as text. */
function fillRow(/** @type {HTMLTableRowElement} */ row, /** @type {(string | number | undefined)[]} */ cells) {
  row.replaceChildren(
    ...cells.map((value, column) => {
      const cell = document.createElement(column === 0 ? "th" : "td");
      if (column === 0) cell.scope = "row";
      cell.textContent = value === undefined ? "" : String(value);
      return cell;
    }),
  );
}

/** Sends queued requests while fewer than CONCURRENCY are in flight. */
function pump() {
  while (running < CONCURRENCY && queue.length > 0) {
    const job = /** @type {() => Promise<void>} */ (queue.shift());
    running += 1;
    job().finally(() => {
      running -= 1;
      pump();
    });
  }
}

/** Gives each file its card and row at once, in order, and queues it. */
function addFiles(/** @type {Iterable<File>} */ files) {
  for (const file of files) {
    const index = results.push(undefined) - 1;
    const card = new FileCard(file);
    cards.append(card.element);
    const row = tableBody.insertRow();
    fillRow(row, [file.name, "", "", "", "waiting", ""]);
    queue.push(async () => {
      card.sending();
      const result = await classifyFile(file, apiKey.value.trim());
      results[index] = result;
      card.show(result);
      fillRow(row, cellsOf(result));
      if (result.model) model.textContent = `${result.model.name} ${result.model.version}`;
      showProgress();
    });
  }
  showProgress();
  pump();
}

picker.addEventListener("change", () => {
  addFiles(picker.files ?? []);
  // The same files can be picked again.
  picker.value = "";
});

// Files dropped anywhere on the page count, rather than the browser opening them in place of the page.
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
});
document.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dropZone.classList.remove("dragging");
  addFiles(event.dataTransfer?.files ?? []);
});

download.addEventListener("click", () => {
  const done = /** @type {FileResult[]} */ (results.filter((result) => result !== undefined));
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([resultsCsv(done)], { type: "text/csv;charset=utf-8" }));
  link.download = "pneumonia-classifier-results.csv";
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 0);
});
