import { concat, latin1 } from "./mutator.js";
import type { Mutator } from "./mutator.js";

function boundaryOf(contentType: string | null): string | undefined {
  const match = /boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  return match ? (match[1] ?? match[2]) : undefined;
}

/** Offsets of each "--boundary" delimiter in a form body. */
function delimiters(body: Uint8Array, boundary: string): number[] {
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const needle = Buffer.from(`--${boundary}`, "latin1");
  const found: number[] = [];
  for (let at = view.indexOf(needle); at !== -1 && found.length < 4096; at = view.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

/** Mutations that know multipart structure: the Content-Type and its boundary, delimiters, parts and part headers. */
export const formMutators: Record<string, Mutator> = {
  "content-type"(input, rng) {
    const boundary = boundaryOf(input.contentType) ?? "b";
    const variants: [string, string | null][] = [
      ["missing", null],
      ["no-boundary", "multipart/form-data"],
      ["empty-boundary", "multipart/form-data; boundary="],
      ["quoted", `multipart/form-data; boundary="${boundary}"`],
      ["other-boundary", `multipart/form-data; boundary=${boundary.slice(0, -1)}X`],
      ["prefix-boundary", `multipart/form-data; boundary=${boundary.slice(0, Math.max(1, boundary.length >> 1))}`],
      ["upper-media", `MULTIPART/FORM-DATA; BOUNDARY=${boundary}`],
      ["long-boundary", `multipart/form-data; boundary=${"x".repeat(rng.pick([70, 71, 200, 5000, 70000]))}`],
      ["dup-boundary", `multipart/form-data; boundary=zzz; boundary=${boundary}`],
      ["charset", `multipart/form-data; charset=utf-16; boundary=${boundary}`],
      ["mixed", `multipart/mixed; boundary=${boundary}`],
      ["trailing-semicolon", `multipart/form-data; boundary=${boundary};`],
      ["spaces", `multipart/form-data ;  boundary = ${boundary}`],
      ["unterminated-quote", `multipart/form-data; boundary="${boundary}`],
      ["junk-params", `multipart/form-data; ${"a=b; ".repeat(rng.between(1, 2000))}boundary=${boundary}`],
      ["binary", `multipart/form-data; boundary=${Buffer.from(rng.bytes(rng.between(1, 40))).toString("latin1")}`],
      ["json", "application/json"],
      ["whitespace-boundary", "multipart/form-data; boundary= "],
    ];
    const [name, value] = rng.pick(variants);
    input.contentType = value;
    return `content-type ${name}`;
  },
  "form-boundary"(input, rng) {
    const boundary = boundaryOf(input.contentType);
    if (!boundary) return undefined;
    const at = delimiters(input.bytes, boundary);
    const b = Buffer.from(input.bytes);
    const choice = rng.int(7);
    if (choice === 0 && at.length > 0) {
      // Drop the closing "--" (or the whole closing delimiter).
      const last = at[at.length - 1]!;
      const cut = rng.chance(0.5) ? last + 2 + boundary.length : last;
      input.bytes = b.subarray(0, cut);
      return `form-boundary drop-close@${cut}`;
    }
    if (choice === 1) {
      const head = b.subarray(0, Math.min(b.length, 2048)).toString("latin1").replace(/\r\n/g, "\n");
      const tail = b.length > 4096 ? b.subarray(b.length - 512).toString("latin1").replace(/\r\n/g, "\n") : "";
      input.bytes = b.length > 4096 ? concat(latin1(head), b.subarray(2048, b.length - 512), latin1(tail)) : latin1(b.toString("latin1").replace(/\r\n/g, "\n"));
      return "form-boundary crlf->lf";
    }
    if (choice === 2) {
      const preamble = rng.chance(0.5) ? latin1("preamble text\r\n") : rng.bytes(rng.between(1, 4096));
      input.bytes = concat(preamble, b);
      return `form-boundary preamble ${preamble.length}B`;
    }
    if (choice === 3) {
      const epilogue = rng.chance(0.5) ? latin1(`\r\n--${boundary}\r\n`) : rng.bytes(rng.between(1, 4096));
      input.bytes = concat(b, epilogue);
      return `form-boundary epilogue ${epilogue.length}B`;
    }
    if (choice === 4 && at.length > 0) {
      const which = rng.pick(at);
      const offset = which + 2 + rng.int(boundary.length + 2);
      if (offset < b.length) b[offset] = rng.pick([0x2d, 0x0d, 0x0a, 0x20, 0x00, 0xff, b[offset]! ^ 0x20]);
      input.bytes = b;
      return `form-boundary corrupt-delimiter@${offset}`;
    }
    if (choice === 5 && at.length > 0) {
      // Transport padding or junk right after a delimiter.
      const which = rng.pick(at) + 2 + boundary.length;
      const pad = rng.pick(["   \t", "--", "\r\n\r\n", "x", " \r\n"]);
      input.bytes = concat(b.subarray(0, which), latin1(pad), b.subarray(which));
      return `form-boundary pad ${JSON.stringify(pad)}`;
    }
    // Many extra parts before the closing delimiter (text fields, empty parts or extra files).
    const count = rng.pick([2, 15, 16, 17, 31, 32, 33, 100, 2000]);
    const kind = rng.pick(["field", "empty", "file", "file-field"]);
    const part =
      kind === "field"
        ? `--${boundary}\r\nContent-Disposition: form-data; name="f"\r\n\r\nv\r\n`
        : kind === "empty"
          ? `--${boundary}\r\n\r\n\r\n`
          : kind === "file"
            ? `--${boundary}\r\nContent-Disposition: form-data; name="other"; filename="a.jpeg"\r\n\r\nxx\r\n`
            : `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.jpeg"\r\n\r\nyy\r\n`;
    const last = at.length > 0 ? at[at.length - 1]! : b.length;
    input.bytes = concat(b.subarray(0, last), latin1(part.repeat(count)), b.subarray(last));
    return `form-boundary parts +${count} ${kind}`;
  },
  "form-headers"(input, rng) {
    const boundary = boundaryOf(input.contentType);
    if (!boundary) return undefined;
    const at = delimiters(input.bytes, boundary);
    if (at.length === 0) return undefined;
    const b = Buffer.from(input.bytes);
    const start = rng.pick(at) + 2 + boundary.length;
    const headerEnd = b.indexOf("\r\n\r\n", start);
    if (headerEnd === -1 || headerEnd - start > 65536) return undefined;
    const variants: [string, string][] = [
      ["no-disposition", "\r\nContent-Type: image/jpeg"],
      ["no-name", '\r\nContent-Disposition: form-data; filename="x.jpeg"'],
      ["empty-filename", '\r\nContent-Disposition: form-data; name="file"; filename=""'],
      ["no-filename", '\r\nContent-Disposition: form-data; name="file"'],
      ["traversal", '\r\nContent-Disposition: form-data; name="file"; filename="../../../etc/passwd"'],
      ["filename-star", "\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%FF%FE%00x.jpeg"],
      ["bad-charset", "\r\nContent-Disposition: form-data; name=\"file\"; filename*=bogus''x.jpeg"],
      ["escaped-quotes", '\r\nContent-Disposition: form-data; name="fi\\"le"; filename="a\\\\b\\".jpeg"'],
      ["upper", '\r\nCONTENT-DISPOSITION: FORM-DATA; NAME="file"; FILENAME="X.JPEG"'],
      ["attachment", '\r\nContent-Disposition: attachment; name="file"; filename="x.jpeg"'],
      ["proto", '\r\nContent-Disposition: form-data; name="__proto__"; filename="x.jpeg"'],
      ["unterminated", '\r\nContent-Disposition: form-data; name="file; filename="x.jpeg'],
      ["no-colon", "\r\nContent-Disposition form-data name=file"],
      ["latin1-name", '\r\nContent-Disposition: form-data; name="fil\xe9"; filename="\xff\xfe.jpeg"'],
      ["transfer-encoding", '\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"\r\nContent-Transfer-Encoding: base64'],
      ["many-headers", `\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"${"\r\nX-A: b".repeat(rng.pick([31, 32, 33, 500]))}`],
      ["long-header", `\r\nContent-Disposition: form-data; name="file"; filename="${"a".repeat(rng.pick([200, 8000, 16384, 100000]))}.jpeg"`],
      ["long-name", `\r\nContent-Disposition: form-data; name="${"n".repeat(rng.pick([127, 128, 129, 5000]))}"; filename="x.jpeg"`],
      ["folded", '\r\nContent-Disposition: form-data;\r\n name="file"; filename="x.jpeg"'],
      ["nul", '\r\nContent-Disposition: form-data; name="file\0"; filename="x\0.jpeg"'],
      ["dup-disposition", '\r\nContent-Disposition: form-data; name="other"\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"'],
      ["text-type", '\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"\r\nContent-Type: text/plain; charset=utf-8'],
    ];
    const [name, headers] = rng.pick(variants);
    input.bytes = concat(b.subarray(0, start), latin1(headers), b.subarray(headerEnd));
    return `form-headers ${name}`;
  },
};
