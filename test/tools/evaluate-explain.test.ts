import { describe, expect, it } from "vitest";
import { runEntry } from "../support/run-command.js";

describe("npm run evaluate:explain", () => {
  it("runs the deletion test on the PNEUMONIA X-rays the model calls PNEUMONIA, for each fill, leaves out the others, and counts where their maps lie", async () => {
    // Act: the five PNEUMONIA fixtures, of which the model calls one NORMAL (person1247_virus_2115, 0.44)
    const { code, stdout } = await runEntry("tools/evaluate-explain.ts", ["--data", "test/fixtures/xrays", "--seed", "7"]);
    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain("5 images, 4 called PNEUMONIA and accepted by the gate (1 called NORMAL, 0 refused: left out)");
    for (const fill of ["grey", "black"]) {
      for (const control of ["anywhere", "elsewhere"]) {
        expect(stdout).toMatch(new RegExp(`^\\| ${fill} \\| ${control} \\| -?\\d+\\.\\d{3} \\| -?\\d+\\.\\d{3} \\| (\\d+\\.\\d\\d|-) \\| \\d of 4 \\(\\d+\\.\\d %\\) \\|$`, "m"));
      }
    }
    // The fixtures the explanation tests hold to the frame, counted by the same rule.
    expect(stdout).toContain("**4 of 4 PNEUMONIA maps (100.0 %) keep to it**; maps leaving it by side (one map may leave by several): top 0, bottom 0, left 0, right 0, midline 0");
    expect(stdout).toContain("Of the 5 NORMAL X-rays called NORMAL with probability >= 0.95 and accepted by the gate, **5 (100.0 %) have maps over 90 % black**");
    expect(stdout).toContain("Command: `npm run evaluate:explain -- --data test/fixtures/xrays --share 0.1 --seed 7`.");
  });
});
