import type { OpenApiDocument } from "./openapi.js";
import { FORM_LIMITS } from "../limits.js";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * The /docs page: every operation of the OpenAPI document, and a form that sends an X-ray to the
 * classifier from the browser. Self-contained (no CDN), so it works offline and behind any stage path.
 */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const op = operation as { summary: string; description?: string; parameters?: { name: string; in: string; description: string }[]; responses: Record<string, { description: string }> };
      const parameters = (op.parameters ?? []).map((p) => `<li><code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}) ${escapeHtml(p.description)}</li>`).join("");
      const responses = Object.entries(op.responses)
        .map(([status, r]) => `<li><code>${status}</code> ${escapeHtml(r.description)}</li>`)
        .join("");
      return `<section><h2><span class="method">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>
<p>${escapeHtml(op.summary)}</p>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ""}${parameters ? `<p>Parameters:</p><ul>${parameters}</ul>` : ""}<ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(document.info.title)} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
section{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}.method{background:#1565c0;color:#fff;border-radius:4px;padding:0 .4rem}
pre{background:#f4f4f4;padding:.8rem;overflow:auto}</style></head>
<body><h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}</small></h1>
<p>${escapeHtml(document.info.description)}</p><p>Machine-readable: <a href="openapi.json">openapi.json</a></p>
<section><h2>Try it</h2>
<form id="try"><p><input type="file" name="${FORM_LIMITS.fileField}" accept="image/jpeg,image/png" required></p>
<p><label>API key (if the deployment requires one) <input type="password" name="apiKey" autocomplete="off"></label></p>
<p><button type="submit">POST /pneumonia_classifier</button></p></form><pre id="answer">No request sent yet.</pre></section>
${operations.join("\n")}
<script>
document.getElementById("try").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const apiKey = form.get("apiKey");
  form.delete("apiKey");
  const answer = document.getElementById("answer");
  answer.textContent = "Classifying...";
  try {
    const response = await fetch("pneumonia_classifier", { method: "POST", body: form, headers: apiKey ? { "x-api-key": apiKey } : {} });
    answer.textContent = response.status + "\\n" + JSON.stringify(await response.json(), null, 2);
  } catch (error) {
    answer.textContent = "Request failed: " + error;
  }
});
</script></body></html>`;
}
