import busboy from "busboy";
import { FORM_LIMITS, IMAGE_LIMITS, mib } from "../limits.js";
import { BadRequestError, ApiError, ERROR_CODES, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.js";

/** The one file a form upload carries. */
export interface UploadedFile {
  /** File name as the client sent it; never trusted as a path. */
  filename: string;
  /** Content type as the client declared it (image/jpeg, application/dicom, application/octet-stream, none...); the bytes decide the real type. */
  declaredType: string;
  bytes: Buffer;
}

const MULTIPART = "multipart/form-data";
const HOW_TO_SEND = `send the X-ray as multipart/form-data with the image in the field "${FORM_LIMITS.fileField}" (curl -F ${FORM_LIMITS.fileField}=@xray.jpeg)`;

/** The media type of a Content-Type header, without parameters, lower-cased. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(";")[0]?.trim().toLowerCase() || undefined;
}

/** How many `file` parts a form may carry. */
export interface UploadLimits {
  /** @default FORM_LIMITS.maxFiles (1): the classify route's one X-ray */
  maxFiles?: number;
}

/**
 * Reads the image from a multipart/form-data body with busboy, within FORM_LIMITS. Every way a form
 * can be wrong ends in an ApiError (400, 413 or 415); none escapes as an uncaught stream error.
 */
export async function parseImageUpload(body: Buffer, contentType: string | undefined): Promise<UploadedFile> {
  return (await parseImageUploads(body, contentType))[0]!;
}

/** Reads every file of the field `file`, in the order the form carries them (at least one, at most maxFiles). */
export function parseImageUploads(body: Buffer, contentType: string | undefined, limits: UploadLimits = {}): Promise<UploadedFile[]> {
  const maxFiles = limits.maxFiles ?? FORM_LIMITS.maxFiles;
  if (mediaTypeOf(contentType) !== MULTIPART) {
    return Promise.reject(
      new UnsupportedMediaTypeError(`Content-Type is ${contentType ? `"${mediaTypeOf(contentType)}"` : "missing"}; ${HOW_TO_SEND}.`),
    );
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType! },
      limits: {
        files: maxFiles,
        fileSize: IMAGE_LIMITS.maxFileBytes,
        fields: FORM_LIMITS.maxFields,
        parts: FORM_LIMITS.maxFields + maxFiles,
        fieldSize: FORM_LIMITS.maxFieldBytes,
        fieldNameSize: FORM_LIMITS.maxFieldNameBytes,
        headerPairs: FORM_LIMITS.maxHeaderPairs,
      },
    });
  } catch (error) {
    return Promise.reject(new BadRequestError(ERROR_CODES.malformedForm, `The form cannot be read (${(error as Error).message}); ${HOW_TO_SEND}.`, { cause: error }));
  }
  return collectUploads(parser, body, maxFiles);
}

function collectUploads(parser: busboy.Busboy, body: Buffer, maxFiles: number): Promise<UploadedFile[]> {
  return new Promise((resolve, reject) => {
    const uploads: UploadedFile[] = [];
    let failure: ApiError | undefined;
    let fileFieldWasText = false;
    const fail = (error: ApiError) => {
      failure ??= error;
    };

    parser.on("file", (name, stream, info) => {
      stream.on("error", (error: Error) =>
        fail(new BadRequestError(ERROR_CODES.malformedForm, `The file part is cut short (${error.message}); resend the whole form.`, { cause: error })),
      );
      if (name !== FORM_LIMITS.fileField) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      const file: UploadedFile = { filename: info.filename ?? "", declaredType: info.mimeType, bytes: Buffer.alloc(0) };
      uploads.push(file);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () =>
        fail(new PayloadTooLargeError(ERROR_CODES.payloadTooLarge, `${describe(file, uploads.length, maxFiles)} is over ${mib(IMAGE_LIMITS.maxFileBytes)}; send a smaller JPEG, PNG or DICOM file.`)),
      );
      stream.on("end", () => {
        file.bytes = Buffer.concat(chunks);
      });
    });
    parser.on("field", (name) => {
      if (name === FORM_LIMITS.fileField) fileFieldWasText = true;
    });
    parser.on("filesLimit", () =>
      fail(
        new BadRequestError(
          ERROR_CODES.tooManyFiles,
          maxFiles === 1 ? `The form carries more than one file; ${HOW_TO_SEND}, once.` : `The form carries more than ${maxFiles} files; send at most ${maxFiles} a request.`,
        ),
      ),
    );
    const tooManyParts = () =>
      fail(new PayloadTooLargeError(ERROR_CODES.tooManyParts, `The form has more than ${FORM_LIMITS.maxFields + maxFiles} parts or ${FORM_LIMITS.maxFields} fields; ${HOW_TO_SEND}.`));
    parser.on("partsLimit", tooManyParts);
    parser.on("fieldsLimit", tooManyParts);
    parser.on("error", (error: Error) => {
      fail(new BadRequestError(ERROR_CODES.malformedForm, `The form is malformed (${error.message}); ${HOW_TO_SEND}.`, { cause: error }));
      settle();
    });
    parser.on("close", settle);

    // busboy waits for a file part's end that never comes when the closing delimiter precedes the parts.
    const stalled = setTimeout(() => {
      fail(new BadRequestError(ERROR_CODES.malformedForm, `The form could not be read to its end: a part is cut short or follows the closing boundary; ${HOW_TO_SEND}.`));
      parser.destroy();
      settle();
    }, FORM_LIMITS.parseTimeoutMs);

    let settled = false;
    function settle() {
      if (settled) return;
      settled = true;
      clearTimeout(stalled);
      if (failure) return reject(failure);
      if (uploads.length === 0) {
        const why = fileFieldWasText ? `the field "${FORM_LIMITS.fileField}" holds text, not a file` : `the form has no file in the field "${FORM_LIMITS.fileField}"`;
        return reject(new BadRequestError(ERROR_CODES.missingFile, `No X-ray received: ${why}; ${HOW_TO_SEND}.`));
      }
      const empty = uploads.findIndex((upload) => upload.bytes.length === 0);
      if (empty >= 0) {
        return reject(new BadRequestError(ERROR_CODES.emptyFile, `${describe(uploads[empty]!, empty + 1, maxFiles)} is empty; ${HOW_TO_SEND}.`));
      }
      resolve(uploads);
    }

    parser.end(body);
  });
}

/** Names a file in an error: as before for the one-file route, by position and name in a batch. */
function describe(file: UploadedFile, position: number, maxFiles: number): string {
  return maxFiles === 1 ? `The file "${FORM_LIMITS.fileField}"` : `File ${position} ("${file.filename.slice(0, 80)}")`;
}
