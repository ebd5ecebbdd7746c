/**
 * Where a class activation map puts its evidence, against the framing of the pediatric chest X-rays the model reads:
 * the lungs lie within 10-90 % across and 10-85 % down the model input, and the mediastinum (heart, spine), where
 * pneumonia is not, in the middle fifth across. The explanation tests hold each fixture to it; `npm run
 * evaluate:explain` counts how many maps of a whole set keep to it, which a handful of fixtures cannot tell.
 */
export const CHEST_FRAME = { left: 0.1, right: 0.9, top: 0.1, bottom: 0.85, midline: 0.1 } as const;

/** A NORMAL probability at which an X-ray counts as clearly NORMAL, and the share of its map that should then be black. */
export const CLEAR_NORMAL = { probability: 0.95, blackShare: 0.9 } as const;

/** The ways a map can leave the chest: its hottest tenth reaching past a side of the frame, or its peak over the mediastinum. */
export const WAYS_OUT_OF_CHEST = ["top", "bottom", "left", "right", "midline"] as const;
export type OutsideChest = (typeof WAYS_OUT_OF_CHEST)[number];

/** A map's indices, hottest first. */
export function hottestFirst(cam: Float32Array): Uint32Array {
  return Uint32Array.from(cam.keys()).sort((a, b) => cam[b]! - cam[a]!);
}

/**
 * How a map (width x height values, row-major; its indices given hottest first, by hottestFirst) leaves the chest;
 * empty when its hottest tenth keeps to the frame.
 */
export function outsideChest(order: Uint32Array, width: number, height: number): OutsideChest[] {
  const hottest = Array.from(order.subarray(0, order.length / 10));
  const xs = hottest.map((i) => (i % width) / width);
  const ys = hottest.map((i) => Math.floor(i / width) / height);
  const checks: [OutsideChest, boolean][] = [
    ["top", Math.min(...ys) < CHEST_FRAME.top],
    ["bottom", Math.max(...ys) >= CHEST_FRAME.bottom],
    ["left", Math.min(...xs) < CHEST_FRAME.left],
    ["right", Math.max(...xs) >= CHEST_FRAME.right],
    // The peak over a lung field: the hottest tenth may reach across the midline (perihilar or bilateral pneumonia
    // lies next to it), its hottest point should not.
    ["midline", Math.abs(xs[0]! - 0.5) <= CHEST_FRAME.midline],
  ];
  return checks.filter(([, outside]) => outside).map(([side]) => side);
}

/** The share of a map's grey levels that are black (0). */
export function blackShare(levels: ArrayLike<number>): number {
  let black = 0;
  for (let i = 0; i < levels.length; i++) if (levels[i] === 0) black++;
  return black / levels.length;
}
