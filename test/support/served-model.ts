import { defaultModelDir, readManifest } from "../../lambda/core/model/manifest.js";

/** The served model's input size, as its manifest says: the size of its class activation map, too. */
export const SERVED_INPUT = (await readManifest(defaultModelDir())).input.preprocessing;
