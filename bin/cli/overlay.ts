import png from "@jimp/js-png";
import { decodeImage } from "../../lambda/core/model/preprocess.js";
import { readImageHeader } from "../../lambda/core/model/image-header.js";

const codec = png();

/** Colours of the heat from cold to hot, evenly spaced: blue, cyan, green, yellow, red (a "jet"-like ramp). */
const RAMP = [
  [0, 0, 255],
  [0, 255, 255],
  [0, 255, 0],
  [255, 255, 0],
  [255, 0, 0],
] as const;

/** The ramp's colour at heat t (0..1). */
function colourAt(t: number): readonly [number, number, number] {
  const at = t * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(at));
  const f = at - i;
  const [a, b] = [RAMP[i]!, RAMP[i + 1]!];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The grey level (0..1) of a width x height map at (x, y) in its own pixels, bilinear, clamped at the edges. */
function sample(grey: Uint8Array, width: number, height: number, x: number, y: number): number {
  const [x0, y0] = [Math.max(0, Math.min(width - 1, Math.floor(x))), Math.max(0, Math.min(height - 1, Math.floor(y)))];
  const [x1, y1] = [Math.min(width - 1, x0 + 1), Math.min(height - 1, y0 + 1)];
  const [fx, fy] = [Math.max(0, Math.min(1, x - x0)), Math.max(0, Math.min(1, y - y0))];
  const top = grey[y0 * width + x0]! * (1 - fx) + grey[y0 * width + x1]! * fx;
  const bottom = grey[y1 * width + x0]! * (1 - fx) + grey[y1 * width + x1]! * fx;
  return (top * (1 - fy) + bottom * fy) / 255;
}

/**
 * The X-ray with an answer's heatmap (a data URL of a grey PNG) laid over it in colour, as a PNG: the map is
 * stretched over the whole image, as the model's input is, and the hotter a place, the more opaque its colour,
 * so cold places show the X-ray alone. The X-ray is decoded as the service decodes it (a JPEG at a reduced size).
 */
export async function overlayPng(xray: Uint8Array, heatmap: string): Promise<Buffer> {
  const map = codec.decode(Buffer.from(heatmap.replace(/^data:image\/png;base64,/, ""), "base64"), {});
  const grey = Uint8Array.from({ length: map.width * map.height }, (_, i) => map.data[i * 4]!);
  // Decoding reads only the size from the spec (a JPEG is reduced to no less than twice it): the map's, the model input's.
  const spec = { width: map.width, height: map.height, grey: "bt601-luma", equalisation: "none", normalisation: { mean: 0, std: 1 } } as const;
  const { bitmap } = await decodeImage(xray, readImageHeader(xray), spec);
  const { width, height } = bitmap;
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Pixel centres mapped onto the map's pixel centres, as the model's input is scaled.
      const heat = sample(grey, map.width, map.height, ((x + 0.5) * map.width) / width - 0.5, ((y + 0.5) * map.height) / height - 0.5);
      const colour = colourAt(heat);
      const alpha = 0.6 * heat;
      const at = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) out[at + c] = Math.round(bitmap.data[at + c]! * (1 - alpha) + colour[c]! * alpha);
      out[at + 3] = 255;
    }
  }
  return codec.encode({ data: out, width, height }, { inputHasAlpha: true, colorType: 2 });
}
