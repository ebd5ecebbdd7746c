// @ts-check
// The API key a deployment may require, kept for this tab only: sessionStorage, never localStorage, a cookie or a URL.

const STORAGE_KEY = "pneumonia-classifier.api-key";

/** The key entered in this tab, or "" when none. */
export function storedApiKey() {
  return sessionStorage.getItem(STORAGE_KEY) ?? "";
}

/** Keeps the key for this tab; an empty one is forgotten. */
export function storeApiKey(/** @type {string} */ key) {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}
