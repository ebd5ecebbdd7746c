// @ts-check
// The explanation's grey heatmap in colour: clear where there is no PNEUMONIA evidence, through yellow to red
// where it is strongest, so the X-ray shows through where the model saw nothing.

/** Paints the heatmap (a data: URL of a grey PNG) onto the canvas at its own size; CSS stretches it over the X-ray. */
export async function paintHeatmap(/** @type {HTMLCanvasElement} */ canvas, /** @type {string} */ heatmapUrl) {
  const image = new Image();
  image.src = heatmapUrl;
  await image.decode();
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  if (!context) return;
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const evidence = data[i] / 255;
    data[i] = 255;
    data[i + 1] = Math.round(255 * (1 - evidence));
    data[i + 2] = 0;
    data[i + 3] = Math.round(255 * evidence);
  }
  context.putImageData(pixels, 0, 0);
}
