import assert from "node:assert/strict";
import { runProgress } from "./progress.ts";

Deno.test("the progress bar follows each run's own work and names the run", () => {
  const out: string[] = [];
  const dec = new TextDecoder();
  const p = runProgress("sim", (b) => out.push(dec.decode(b)));
  for (const f of [0, 0.01, 0.5, 1]) p(f, "proxscale", 0, 2);
  for (const f of [0, 0.5, 1]) p(f, "karpenter", 1, 2);
  const text = out.join("");
  assert.match(text, /sim \[1\/2 proxscale\] \[-{30}\] {3}0%/);
  assert.match(text, /sim \[1\/2 proxscale\] \[#{15}-{15}\] {2}50%/);
  assert.match(text, /sim \[2\/2 karpenter\] \[#{30}\] 100%\n$/);
  // 1 % is below the redraw step: not drawn.
  assert.doesNotMatch(text, / {2}1%/);
});
