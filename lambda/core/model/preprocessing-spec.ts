/**
 * How an image becomes the model's input tensor. The training export writes this spec next to the
 * tensors it produces, training copies it into the model manifest, and serving reads it from there,
 * so both sides run the same steps with the same numbers.
 */
export interface PreprocessingSpec {
  /** Model input width and height in pixels; the image is scaled to it without keeping aspect, as the training data were. */
  width: number;
  height: number;
  /** Colour to grey: ITU-R BT.601 luma, which leaves grey pixels (R=G=B) unchanged. */
  grey: "bt601-luma";
  /** Contrast step on the scaled grey image, to undo exposure differences between X-ray machines. */
  equalisation: "none" | "histogram";
  /** Applied last, to pixel values scaled to [0, 1]: (v - mean) / std. */
  normalisation: { mean: number; std: number };
}

/** Tensor layout the model takes: one grey channel, batch first. */
export const INPUT_LAYOUT = "NCHW" as const;
