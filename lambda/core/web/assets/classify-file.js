// @ts-check
// One file sent to the classify route, its answer read into a result the cards, the table and the CSV share.

/**
 * @typedef {object} Explanation
 * @property {string} method
 * @property {number} width
 * @property {number} height
 * @property {string} heatmap a data: URL of a grey PNG, brighter where the evidence for PNEUMONIA is stronger
 */

/**
 * @typedef {object} FileResult
 * @property {string} file the file's name, as the client named it
 * @property {number | undefined} status the HTTP status; undefined when no answer came
 * @property {string} [label]
 * @property {number} [probability] the probability of the label
 * @property {{ NORMAL?: number, PNEUMONIA?: number }} [probabilities]
 * @property {string} [error] why the file was refused, in the server's words
 * @property {Explanation} [explanation] the heatmap, when the server explains its answers
 * @property {{ name: string, version: string }} [model]
 */

/** Relative, so a stage path (/prod/, /gpu/) is kept. */
const CLASSIFY_URL = "pneumonia_classifier";

/**
 * Whether to ask for the heatmap (explain=true): until the server refuses it with 400 BAD_REQUEST, the only
 * 400 of that code the classify route gives, as it does when its model has no class activation map.
 */
let explain = true;

/** The heatmap, if the answer has one as the contract says: a PNG as a data: URL (the CSP allows no other origin). */
function explanationOf(/** @type {any} */ body) {
  const explanation = body?.explanation;
  return typeof explanation?.heatmap === "string" && explanation.heatmap.startsWith("data:image/png;base64,") ? explanation : undefined;
}

/** The refusal in words: the API's message, or what API Gateway's own answers (no key, throttled) mean. */
function errorOf(/** @type {Response} */ response, /** @type {any} */ body) {
  if (typeof body?.error?.message === "string") return body.error.message;
  if (response.status === 403) return "Forbidden: this deployment requires an API key; enter it above and try again.";
  if (typeof body?.message === "string") return `${body.message} (HTTP ${response.status}).`;
  return `The server answered HTTP ${response.status} ${response.statusText}.`;
}

/** Sends the file; the answer and its JSON body (undefined when it has none). */
async function post(/** @type {File} */ file, /** @type {string} */ apiKey, /** @type {boolean} */ withHeatmap) {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch(withHeatmap ? `${CLASSIFY_URL}?explain=true` : CLASSIFY_URL, {
    method: "POST",
    body: form,
    headers: apiKey ? { "x-api-key": apiKey } : {},
  });
  return { response, body: await response.json().catch(() => undefined) };
}

/** Classifies one file; never throws: a refusal or a failed request is a result with its error. */
export async function classifyFile(/** @type {File} */ file, /** @type {string} */ apiKey) {
  let answer;
  try {
    const asked = explain;
    answer = await post(file, apiKey, asked);
    if (asked && answer.response.status === 400 && answer.body?.error?.code === "BAD_REQUEST") {
      explain = false;
      answer = await post(file, apiKey, false);
    }
  } catch (error) {
    return /** @type {FileResult} */ ({ file: file.name, status: undefined, error: `No answer from the server: ${String(error)}` });
  }
  const { response, body } = answer;
  if (response.ok && typeof body?.prediction === "string") {
    return /** @type {FileResult} */ ({
      file: file.name,
      status: response.status,
      label: body.prediction,
      probability: body.probability,
      probabilities: body.probabilities,
      explanation: explanationOf(body),
      model: body.model,
    });
  }
  return /** @type {FileResult} */ ({ file: file.name, status: response.status, error: errorOf(response, body) });
}
