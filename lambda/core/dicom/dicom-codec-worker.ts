/**
 * The DICOM codec thread (codec-thread.ts): decodes compressed frames with the third-party codecs, so a frame on
 * which one never returns can be ended by ending the thread. Bundled next to each entry point that preprocesses,
 * which starts it by file name.
 */
import { parentPort } from "node:worker_threads";
import { toApiError } from "../errors.js";
import { logger } from "../logger.js";
import { decodeCompressedFrame } from "./decode-compressed-frame.js";
import type { CodecReply, CodecRequest } from "./codec-thread.js";

const port = parentPort!;

port.on("message", ({ id, image }: CodecRequest) => {
  decodeCompressedFrame(image).then(
    (words) => port.postMessage({ id, words } satisfies CodecReply, [words.buffer as ArrayBuffer]),
    (error: unknown) => {
      const answer = toApiError(error);
      if (answer.status >= 500) logger.error("DICOM decoding failed unexpectedly", { error: error as Error });
      port.postMessage({ id, error: answer.toData() } satisfies CodecReply);
    },
  );
});
port.postMessage({ ready: true } satisfies CodecReply);
