// @ts-check
// Swagger UI from the OpenAPI document served beside this page. A script file, not inline: the CSP forbids inline script.
import { storedApiKey } from "./api-key.js";

/** @type {any} */
const SwaggerUIBundle = Reflect.get(window, "SwaggerUIBundle");

const ui = SwaggerUIBundle({
  // Absolute, so the document's relative server (".") resolves to this page's folder, stage path included.
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  // The default would send the document to validator.swagger.io.
  validatorUrl: null,
  // Swagger UI would keep keys in localStorage; the page's key (this tab only) authorizes /docs instead.
  persistAuthorization: false,
  onComplete: () => {
    const key = storedApiKey();
    // "apiKey": the scheme's name in the OpenAPI document (lambda/core/http/openapi.ts).
    if (key) ui.preauthorizeApiKey("apiKey", key);
  },
});
