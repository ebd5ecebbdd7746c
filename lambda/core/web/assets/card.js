// @ts-check
// One file's card: its name, the X-ray, then its answer (label, probability, heatmap) or why it was refused.
// Every name and message goes in as text (textContent, attributes), never as HTML.
import { paintHeatmap } from "./heatmap.js";

/** @typedef {import("./classify-file.js").FileResult} FileResult */

/** Creates an element with a class and, optionally, its text. */
function element(/** @type {string} */ tag, /** @type {string} */ className, text = "") {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/** A checkbox or slider inside its label, so the label names it without an id. */
function labelled(/** @type {string} */ text, /** @type {HTMLInputElement} */ input, inputFirst = false) {
  const label = element("label", "control");
  label.append(...(inputFirst ? [input, ` ${text}`] : [`${text} `, input]));
  return label;
}

/** Formats a probability as the cards and table show it. */
export function percent(/** @type {number | undefined} */ p) {
  return p === undefined ? "" : `${(p * 100).toFixed(1)} %`;
}

export class FileCard {
  /** @param {File} file */
  constructor(file) {
    this.element = element("li", "card");
    this.element.dataset.state = "waiting";
    this.element.append(element("h3", "card-name", file.name));
    this.figure = element("div", "figure");
    this.xray = document.createElement("img");
    this.xray.className = "xray";
    this.xray.alt = `The X-ray ${file.name}`;
    // A file the browser cannot show (DICOM) gets a placeholder, and its heatmap alone once there is one.
    this.xray.addEventListener("error", () => {
      this.xray.hidden = true;
      this.figure.classList.add("no-preview");
      this.figure.prepend(element("p", "placeholder", "This browser cannot show this file."));
    });
    this.xray.src = URL.createObjectURL(file);
    this.figure.append(this.xray);
    this.status = element("p", "card-status", "Waiting");
    this.element.append(this.figure, this.status);
  }

  /** Marks the card as being classified. */
  sending() {
    this.element.dataset.state = "sending";
    this.element.setAttribute("aria-busy", "true");
    this.status.textContent = "Classifying…";
  }

  /** Shows the answer or the refusal. */
  show(/** @type {FileResult} */ result) {
    this.element.removeAttribute("aria-busy");
    if (!result.label) {
      this.element.dataset.state = "refused";
      this.status.textContent = result.status ? `Refused (HTTP ${result.status}): ${result.error}` : `Failed: ${result.error}`;
      return;
    }
    this.element.dataset.state = "classified";
    this.element.dataset.label = result.label;
    this.status.textContent = "";
    this.status.append(element("strong", "label", result.label), ` ${percent(result.probability)}`);
    const bar = document.createElement("meter");
    bar.className = "probability";
    bar.min = 0;
    bar.max = 1;
    bar.value = result.probability ?? 0;
    bar.setAttribute("aria-label", `Probability of ${result.label}`);
    this.status.after(bar);
    if (result.explanation) this.showHeatmap(result.explanation.heatmap, bar);
  }

  /** Lays the heatmap over the X-ray, with a toggle and an opacity slider after the bar. */
  showHeatmap(/** @type {string} */ heatmapUrl, /** @type {Element} */ after) {
    const canvas = document.createElement("canvas");
    canvas.className = "heatmap";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Heatmap: where the model saw evidence of pneumonia (red strongest)");
    this.figure.append(canvas);
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = true;
    toggle.addEventListener("change", () => (canvas.hidden = !toggle.checked));
    const opacity = document.createElement("input");
    opacity.type = "range";
    opacity.min = "0";
    opacity.max = "1";
    opacity.step = "0.05";
    opacity.value = "0.6";
    const applyOpacity = () => (canvas.style.opacity = opacity.value);
    opacity.addEventListener("input", applyOpacity);
    applyOpacity();
    const controls = element("div", "heatmap-controls");
    controls.append(labelled("Show heatmap", toggle, true), labelled("Opacity", opacity));
    after.after(controls);
    paintHeatmap(canvas, heatmapUrl).catch(() => {
      controls.remove();
      canvas.remove();
    });
  }
}
